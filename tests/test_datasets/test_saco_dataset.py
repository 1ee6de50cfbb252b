# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SACoDataset + PackConceptInputs on the bundled SA-Co-format sample."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.structures.mask import BitmapMasks
from mmengine.registry import init_default_scope

from esam3.datasets.saco_dataset import clip_boxes
from esam3.datasets.transforms import PackConceptInputs
from esam3.registry import DATASETS

S = 224
ROOT = 'data/samples/saco'


def pipeline(flip_prob=0.0, train=True):
    resize = dict(
        type='mmcv.RandomResize',
        scale=(S, S),
        ratio_range=(0.6, 1.0),
        keep_ratio=True,
        resize_type='mmdet.Resize') if train else dict(
            type='mmdet.Resize', scale=(S, S), keep_ratio=True)
    return [
        dict(type='LoadImageFromFile'),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
        resize,
        dict(type='mmdet.RandomFlip', prob=flip_prob),
        dict(type='mmdet.Pad', size=(S, S)),
        dict(type='PackConceptInputs'),
    ]


def build(repo_root, flip_prob=0.0, ann_file='annotations.json', **kwargs):
    init_default_scope('esam3')
    train = not kwargs.get('test_mode', False)
    return DATASETS.build(
        dict(
            type='SACoDataset',
            data_root=osp.join(repo_root, ROOT),
            ann_file=ann_file,
            pipeline=pipeline(flip_prob, train),
            **kwargs))


def test_positive_and_negative_pairs(repo_root):
    ds = build(repo_root, test_mode=True)
    assert len(ds) == 11
    seen = {}
    for i in range(len(ds)):
        out = ds[i]
        x, ds_ = out['inputs'], out['data_samples']
        meta = ds_.metainfo
        assert x.shape == (3, S, S) and x.dtype == torch.uint8
        assert meta['pad_shape'] == (S, S) and max(meta['img_shape']) == S
        inst = ds_.gt_instances
        assert isinstance(inst.masks, BitmapMasks)
        assert len(inst) == len(meta['gt_rles'])
        assert meta['exemplar_boxes'].shape == (0, 4)  # test: none
        if meta['is_negative']:
            assert len(inst) == 0 and meta['gt_rles'] == []
        else:
            assert len(inst) > 0
            assert inst.masks.masks.shape[1:] == (S, S)
            assert (inst.masks.masks.sum((1, 2)) > 0).all()
        seen[meta['text']] = (meta['is_negative'], len(inst))
    assert seen['coin'] == (False, 24) and seen['eye'] == (False, 2)
    for neg in ('dog', 'fork', 'car', 'banknote'):
        assert seen[neg] == (True, 0)


def test_exemplars_follow_resize_and_flip(repo_root):
    np.random.seed(0)
    ds = build(repo_root, flip_prob=1.0, exemplar_prob=1.0, max_exemplars=2)
    counts = set()
    for i in list(range(len(ds))) + [1, 9, 1, 9]:  # eye, coin: 1 or 2
        out = ds[i]['data_samples']
        meta, inst = out.metainfo, out.gt_instances
        ex = meta['exemplar_boxes']
        assert ex.dtype == torch.float32 and ex.shape[1] == 4
        if meta['is_negative']:
            assert len(ex) == 0
            continue
        assert meta['flip']
        counts.add(len(ex))
        assert 1 <= len(ex) <= min(2, len(inst))
        h, w = meta['img_shape']
        assert (ex[:, 0::2] >= 0).all() and (ex[:, 0::2] <= w).all()
        assert (ex[:, 1::2] >= 0).all() and (ex[:, 1::2] <= h).all()
        gt = inst.bboxes.tensor
        for box in ex:  # each exemplar is the box of one GT instance
            assert (gt - box).abs().max(1).values.min() < 1e-3
    assert counts == {1, 2}


def test_exemplar_boxes_clipped_or_dropped():
    boxes = clip_boxes([[-10, 5, 30, 40], [50, 50, 60, 60], [200, 0, 250, 9]],
                       height=100,
                       width=120)
    assert boxes.tolist() == [[0, 5, 30, 40], [50, 50, 60, 60]]
    # after the geometric transforms: mapped, clipped to img_shape, dropped
    img = np.zeros((64, 64, 3), np.uint8)
    results = dict(
        img=img,
        img_id=1,
        img_path='x.jpg',
        ori_shape=(100, 120),
        img_shape=(64, 64),
        pad_shape=(64, 64),
        scale_factor=(0.5, 0.5),
        homography_matrix=np.diag([0.5, 0.5, 1.0]).astype(np.float32),
        text='cat',
        is_negative=False,
        exemplar_boxes=np.array(
            [[100, 10, 140, 30], [130, 90, 150, 99], [10, 10, 20, 20]],
            np.float32))
    meta = PackConceptInputs().transform(results)['data_samples'].metainfo
    assert meta['img_shape'] == (50, 60)  # before padding
    assert meta['exemplar_boxes'].tolist() == [[50, 5, 60, 15], [5, 5, 10, 10]]


def test_hard_negatives(repo_root):
    np.random.seed(0)
    ds = build(
        repo_root,
        hard_negative_prob=1.0,
        exemplar_prob=1.0,
        confusable_phrases='confusables.json')
    with open(osp.join(repo_root, ROOT, 'confusables.json')) as f:
        confusables = json.load(f)
    positives = {
        'images/chelsea.jpg': {'cat', 'eye'},
        'images/astronaut.jpg': {'person', 'flag', 'helmet'}
    }
    for i in range(len(ds)):
        orig = ds.get_data_info(i)
        meta = ds[i]['data_samples'].metainfo
        gt = ds[i]['data_samples'].gt_instances
        assert meta['is_negative'] and meta.get('hard_negative')
        assert len(gt) == 0 and len(meta['exemplar_boxes']) == 0
        assert meta['text'] != orig['text']
        assert meta['text'] not in positives.get(
            osp.relpath(orig['img_path'], osp.join(repo_root, ROOT)), set())
        if orig['text'] in confusables:
            assert meta['text'] in confusables[orig['text']]
    # without a mapping: another phrase of the dataset absent from the image
    ds = build(repo_root, hard_negative_prob=1.0)
    meta = ds[0]['data_samples'].metainfo  # chelsea 'cat'
    assert meta['text'] in ds.all_phrases
    assert meta['text'] not in ('cat', 'eye')
    # never in test mode
    ds = build(repo_root, hard_negative_prob=1.0, test_mode=True)
    assert ds[0]['data_samples'].metainfo['text'] == 'cat'


@pytest.mark.parametrize('phrase', ['', '   ', None, 3])
def test_bad_phrase_names_the_image(repo_root, tmp_path, phrase):
    with open(osp.join(repo_root, ROOT, 'annotations.json')) as f:
        data = json.load(f)
    data['images'][4]['text_input'] = phrase
    bad_id = data['images'][4]['id']
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=f'id={bad_id}'):
        build(repo_root, ann_file=str(path))
