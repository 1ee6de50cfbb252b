# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""DAVISDataset (palette and SA-V val per-object layouts)."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from PIL import Image
from pycocotools import mask as mask_utils

from esam3.registry import DATASETS

S = 224


def pipeline():
    return [
        dict(type='LoadVideoClip'),
        dict(
            type='mmcv.TransformBroadcaster',
            share_random_params=True,
            transforms=[
                dict(type='mmdet.Resize', scale=(S, S), keep_ratio=True),
                dict(type='mmdet.Pad', size=(S, S))
            ]),
        dict(type='PackVideoInputs'),
    ]


def build(**kwargs):
    init_default_scope('esam3')
    return DATASETS.build(
        dict(type='DAVISDataset', pipeline=pipeline(), **kwargs))


@pytest.fixture(scope='module')
def sav_masks(repo_root):
    with open(osp.join(repo_root,
                       'data/samples/sav/sav_000001_manual.json')) as f:
        ann = json.load(f)
    return [mask_utils.decode(fr).transpose(2, 0, 1) for fr in ann['masklet']]


def test_full_video_matches_sav_json(repo_root, sav_masks):
    ds = build(
        data_root=osp.join(repo_root, 'data/samples/davis'),
        ann_file='ImageSets/2017/val.txt',
        test_mode=True)
    out = ds[0]
    x, track = out['inputs'], out['data_samples']
    assert x.shape == (48, 3, S, S) and x.dtype == torch.uint8
    assert track.metainfo == dict(video_id='carphone', video_length=48)
    frames = track.video_data_samples
    assert [f.metainfo['frame_id'] for f in frames] == list(range(48))
    for f in frames:
        assert f.gt_instances.instances_ids.tolist() == [1, 2, 3]
        assert f.gt_instances.masks.masks.shape == (3, S, S)
        assert f.metainfo['img_shape'] == (183, S)  # 144x176 -> 183x224
    for k, masks in enumerate(sav_masks):  # same masks as the SA-V json
        rles = frames[4 * k].metainfo['gt_rles']
        assert np.array_equal(
            mask_utils.decode(rles).transpose(2, 0, 1), masks)


def test_random_training_clips_at_6fps(repo_root):
    np.random.seed(0)
    ds = build(
        data_root=osp.join(repo_root, 'data/samples/davis'),
        clip_mode='random',
        num_frames=(4, 6),
        frame_interval=4,
        max_objects=2)
    for _ in range(3):
        track = ds[0]['data_samples']
        assert 4 <= len(track) <= 6
        ids = [f.metainfo['frame_id'] for f in track.video_data_samples]
        assert np.all(np.diff(ids) == 4)
        for f in track.video_data_samples:
            assert len(f.gt_instances) == 2


def test_per_object_layout_sav_val(repo_root, tmp_path, sav_masks):
    """SA-V val/test: JPEGImages_24fps + Annotations_6fps/<vid>/<obj>/."""
    src = osp.join(repo_root, 'data/samples/davis/JPEGImages/480p/carphone')
    os.makedirs(tmp_path / 'JPEGImages_24fps')
    os.symlink(src, tmp_path / 'JPEGImages_24fps' / 'sav_000001')
    for k, masks in enumerate(sav_masks):
        for o, m in enumerate(masks):
            d = tmp_path / 'Annotations_6fps' / 'sav_000001' / f'{o:03d}'
            os.makedirs(d, exist_ok=True)
            Image.fromarray(m * 255).save(d / f'{4 * k:05d}.png')
    (tmp_path / 'sav_val.txt').write_text('sav_000001\n')
    ds = build(
        data_root=str(tmp_path),
        ann_file='sav_val.txt',
        data_prefix=dict(img='JPEGImages_24fps', ann='Annotations_6fps'),
        mask_layout='per_object',
        test_mode=True)
    track = ds[0]['data_samples']
    assert len(track) == 12 and track.metainfo['video_length'] == 48
    for k, f in enumerate(track.video_data_samples):
        assert f.metainfo['frame_id'] == 4 * k
        assert f.gt_instances.instances_ids.tolist() == [0, 1, 2]
        dec = mask_utils.decode(f.metainfo['gt_rles']).transpose(2, 0, 1)
        assert np.array_equal(dec, sav_masks[k])


def test_mask_size_mismatch_names_video(repo_root, tmp_path):
    src = osp.join(repo_root, 'data/samples/davis')
    img = tmp_path / 'JPEGImages/480p/carphone'
    ann = tmp_path / 'Annotations/480p/carphone'
    os.makedirs(img)
    os.makedirs(ann)
    for t in range(3):
        os.symlink(
            osp.join(src, f'JPEGImages/480p/carphone/{t:05d}.jpg'),
            img / f'{t:05d}.jpg')
        Image.fromarray(
            np.ones((72, 88), np.uint8), mode='P').save(ann / f'{t:05d}.png')
    with pytest.raises(ValueError, match='carphone'):
        build(data_root=str(tmp_path), on_invalid='raise', test_mode=True)


def test_davis_to_sav_round_trip(repo_root, tmp_path, sav_masks):
    """tools/dataset_converters/davis_to_sav.py -> SAVDataset, same masks."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'davis_to_sav',
        osp.join(repo_root, 'tools/dataset_converters/davis_to_sav.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    names = tool.convert(
        osp.join(repo_root, 'data/samples/davis'),
        str(tmp_path),
        split='ImageSets/2017/val.txt')
    assert names == ['carphone']
    init_default_scope('esam3')
    ds = DATASETS.build(
        dict(
            type='SAVDataset',
            data_root=str(tmp_path),
            clip_mode='full',
            test_mode=True,
            pipeline=pipeline()))
    track = ds[0]['data_samples']
    assert len(track) == 12 and track.metainfo['video_length'] == 48
    for k, f in enumerate(track.video_data_samples):
        assert f.gt_instances.instances_ids.tolist() == [1, 2, 3]
        dec = mask_utils.decode(f.metainfo['gt_rles']).transpose(2, 0, 1)
        assert np.array_equal(dec, sav_masks[k])
