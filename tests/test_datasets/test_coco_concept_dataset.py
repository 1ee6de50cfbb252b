# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""CocoConceptDataset on a tiny hand-made COCO/LVIS-style json."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from esam3.registry import DATASETS

S = 224
ROOT = 'data/samples/saco'


def octagon(cx, cy, r):
    ang = np.arange(8) * np.pi / 4
    return np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)],
                    1).ravel().round(1).tolist()


@pytest.fixture
def coco_json(repo_root, tmp_path):
    with open(osp.join(repo_root, ROOT, 'annotations.json')) as f:
        saco = json.load(f)
    cat_rle = next(a['segmentation'] for a in saco['annotations']
                   if a['image_id'] == 1)  # the 'cat' pair of chelsea
    crowd = dict(size=[252, 320], counts=[252 * 100, 252 * 20, 252 * 200])
    data = dict(
        images=[
            dict(id=11, file_name='images/coins.jpg', height=252, width=320),
            dict(
                id=12,
                height=213,
                width=320,
                neg_category_ids=[7],
                coco_url='http://images.cocodataset.org/images/chelsea.jpg'),
        ],
        annotations=[
            dict(
                id=1,
                image_id=11,
                category_id=1,
                iscrowd=0,
                segmentation=[octagon(28, 38, 14)],
                bbox=[14, 24, 28, 28]),
            dict(
                id=2,
                image_id=11,
                category_id=1,
                iscrowd=0,
                segmentation=[octagon(102, 40, 14)],
                bbox=[88, 26, 28, 28]),
            dict(
                id=3,
                image_id=11,
                category_id=1,
                iscrowd=1,
                segmentation=crowd,
                bbox=[100, 0, 20, 252]),
            dict(
                id=4,
                image_id=12,
                category_id=3,
                iscrowd=0,
                segmentation=cat_rle,
                bbox=[0, 0, 262, 213]),
        ],
        categories=[
            dict(id=7, name='dog'),
            dict(id=1, name='coin', synonyms=['coin', 'metal_coin']),
            dict(id=9, name='spray_can'),
            dict(id=3, name='cat'),
        ])
    path = tmp_path / 'instances.json'
    path.write_text(json.dumps(data))
    return str(path)


def build(repo_root, ann_file, test_mode=False, **kwargs):
    init_default_scope('esam3')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='mmdet.Resize', scale=(S, S), keep_ratio=True),
        dict(type='PadBottomRight', size=S),
        dict(type='PackConceptInputs'),
    ]
    return DATASETS.build(
        dict(
            type='CocoConceptDataset',
            data_root=osp.join(repo_root, ROOT),
            ann_file=ann_file,
            num_negatives=2,
            pipeline=pipeline,
            test_mode=test_mode,
            **kwargs))


def test_positive_per_category_and_negatives(repo_root, coco_json):
    ds = build(repo_root, coco_json, test_mode=True)
    # classes are the json's names (CocoMetric maps labels back by name);
    # the prompt text is the underscore-free phrase
    assert ds.metainfo['classes'] == ('coin', 'cat', 'dog', 'spray_can')
    samples = [ds[i]['data_samples'] for i in range(len(ds))]
    pairs = [(s.metainfo['img_id'], s.metainfo['text'],
              s.metainfo['is_negative']) for s in samples]
    assert len(ds) == 5
    assert pairs[0] == (11, 'coin', False)
    assert pairs[3] == (12, 'cat', False)
    assert pairs[4] == (12, 'dog', True)  # LVIS neg_category_ids
    coin_negs = {p[1] for p in pairs[1:3]}
    assert all(
        p[2] for p in pairs[1:3]) and coin_negs <= {'cat', 'dog', 'spray can'}
    coin = samples[0]
    assert len(coin.gt_instances) == 2  # the crowd region is ignored
    assert len(coin.metainfo['gt_rles']) == 2
    assert coin.gt_instances.labels.tolist() == [0, 0]
    assert coin.metainfo['label'] == 0
    assert (coin.gt_instances.masks.masks.sum((1, 2)) > 100).all()
    assert samples[3].metainfo['label'] == 1
    assert samples[3].metainfo['img_path'].endswith('images/chelsea.jpg')
    for s in samples[1:3] + samples[4:]:
        assert len(s.gt_instances) == 0 and s.metainfo['gt_rles'] == []
    # negatives are fixed (seeded)
    again = build(repo_root, coco_json, test_mode=True)
    assert [again.get_data_info(i)['text']
            for i in range(5)] == [p[1] for p in pairs]


def test_synonyms_and_hard_negatives_in_training(repo_root, coco_json):
    np.random.seed(0)
    ds = build(repo_root, coco_json)
    texts = {ds[0]['data_samples'].metainfo['text'] for _ in range(12)}
    assert texts == {'coin', 'metal coin'}
    ds = build(repo_root, coco_json, hard_negative_prob=1.0, exemplar_prob=1.0)
    for _ in range(6):
        meta = ds[0]['data_samples'].metainfo
        assert meta['is_negative'] and meta['text'] in ('cat', 'dog',
                                                        'spray can')
        assert len(meta['exemplar_boxes']) == 0


def test_custom_data_noun_phrase_unused_categories_and_long_phrases(
        repo_root, coco_json, tmp_path):
    with open(coco_json) as f:
        data = json.load(f)
    # a `noun_phrase` field replaces the category name as the prompt
    data['categories'][3]['noun_phrase'] = 'tabby cat'
    path = tmp_path / 'custom.json'
    path.write_text(json.dumps(data))
    ds = build(repo_root, str(path), test_mode=True, max_phrase_tokens=32)
    texts = [ds.get_data_info(i)['text'] for i in range(len(ds))]
    assert 'tabby cat' in texts and 'cat' not in texts
    # dog (id 7) and spray_can (id 9) have no instance: counted, logged
    assert ds.unused_categories == [7, 9]
    # a phrase longer than the text context: error naming file, id, field
    data['categories'][0]['noun_phrase'] = ' '.join(['big red dog'] * 12)
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r'custom.json.*id=7.*noun_phrase'):
        build(repo_root, str(path), test_mode=True, max_phrase_tokens=32)
    # an empty phrase: the existing check names the field
    data['categories'][0]['noun_phrase'] = '  '
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match='id=7: category noun_phrase'):
        build(repo_root, str(path), test_mode=True)
