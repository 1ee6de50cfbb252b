# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SAVDataset + video transforms on the bundled real clip."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import TrackDataSample
from mmengine.registry import init_default_scope
from pycocotools import mask as mask_utils

import esam3.datasets.sav_dataset as sav_module
from esam3.datasets import SAVAnnotationError
from esam3.registry import DATASETS

S = 224
VID = 'sav_000001'


def pipeline(train=True, flip_prob=0.5):
    geo = [
        dict(
            type='mmcv.RandomResize',
            scale=(S, S),
            ratio_range=(0.5, 1.0),
            keep_ratio=True,
            resize_type='mmdet.Resize'),
        dict(type='mmdet.RandomFlip', prob=flip_prob)
    ] if train else [dict(type='mmdet.Resize', scale=(S, S), keep_ratio=True)]
    return [
        dict(type='LoadVideoClip'),
        dict(
            type='mmcv.TransformBroadcaster',
            share_random_params=True,
            transforms=geo + [dict(type='PadBottomRight', size=S)]),
        dict(type='PackVideoInputs'),
    ]


def build(data_root, train=True, flip_prob=0.5, **kwargs):
    init_default_scope('esam3')
    return DATASETS.build(
        dict(
            type='SAVDataset',
            data_root=data_root,
            pipeline=pipeline(train, flip_prob),
            test_mode=not train,
            **kwargs))


@pytest.fixture
def sample_root(repo_root):
    return osp.join(repo_root, 'data/samples/sav')


@pytest.fixture
def edited(repo_root, tmp_path):
    """Copy of the sample whose json can be edited by the test."""
    src = osp.join(repo_root, 'data/samples/sav')
    os.symlink(osp.join(src, VID + '.mp4'), tmp_path / (VID + '.mp4'))
    with open(osp.join(src, VID + '_manual.json')) as f:
        ann = json.load(f)

    def write(new_ann):
        with open(tmp_path / (VID + '_manual.json'), 'w') as f:
            json.dump(new_ann, f)
        return str(tmp_path)

    return ann, write


@pytest.fixture
def logs(monkeypatch):
    messages = []
    monkeypatch.setattr(sav_module, 'print_log',
                        lambda msg, **kw: messages.append(msg))
    return messages


def test_train_clips_shapes_ids_and_length(sample_root):
    np.random.seed(0)
    ds = build(sample_root, num_frames=(4, 8))
    assert len(ds) == 1
    lengths = set()
    for _ in range(5):
        out = ds[0]
        x, track = out['inputs'], out['data_samples']
        assert isinstance(track, TrackDataSample)
        assert x.dtype == torch.uint8 and x.shape[1:] == (3, S, S)
        t = x.shape[0]
        lengths.add(t)
        assert 4 <= t <= 8 and len(track) == t
        assert track.metainfo['video_id'] == VID
        assert track.metainfo['video_length'] == 48
        frame_ids = [f.metainfo['frame_id'] for f in track.video_data_samples]
        assert np.all(np.diff(frame_ids) == 4)  # consecutive annotated
        for f in track.video_data_samples:
            inst = f.gt_instances
            assert inst.masks.masks.shape == (3, S, S)
            assert inst.instances_ids.dtype == torch.long
            assert inst.instances_ids.tolist() == [0, 1, 2]
            assert f.metainfo['pad_shape'] == (S, S)
            assert max(f.metainfo['img_shape']) <= S
        first = track.video_data_samples[0].gt_instances.masks.masks
        assert (first.sum((1, 2)) > 0).all()  # present on the prompt frame
    assert len(lengths) > 1  # random T


def test_masks_follow_image_resize_and_flip(sample_root):
    np.random.seed(1)
    ds = build(sample_root, num_frames=4, flip_prob=1.0)
    out = ds[0]
    for i, f in enumerate(out['data_samples'].video_data_samples):
        meta = f.metainfo
        assert meta['flip'] and meta['flip_direction'] == 'horizontal'
        h, w = meta['img_shape']
        packed = f.gt_instances.masks.masks
        assert not packed[:, h:].any() and not packed[:, :, w:].any()
        for o, rle in enumerate(meta['gt_rles']):
            gt = mask_utils.decode(rle)  # original resolution
            gt = cv2.resize(gt, (w, h), interpolation=cv2.INTER_NEAREST)
            gt = gt[:, ::-1]  # resized then flipped, like the image
            inter = (gt & packed[o, :h, :w]).sum()
            union = (gt | packed[o, :h, :w]).sum()
            assert inter / union > 0.95
        # the red bow tie (object 0) lies on red pixels of the input frame
        img = out['inputs'][i].permute(1, 2, 0).numpy()[:h, :w].copy()
        a_star = cv2.cvtColor(img, cv2.COLOR_BGR2LAB)[..., 1].astype(float)
        tie = packed[0, :h, :w].astype(bool)
        assert a_star[tie].mean() > a_star[~tie].mean() + 10


def test_max_objects_and_first_clip(sample_root):
    ds = build(
        sample_root,
        train=False,
        num_frames=(4, 8),
        max_objects=2,
        clip_mode='first')
    track = ds[0]['data_samples']
    assert len(track) == 8  # max T in non-random modes
    assert track.video_data_samples[0].metainfo['frame_id'] == 0
    for f in track.video_data_samples:
        assert f.gt_instances.instances_ids.tolist() == [0, 1]


def test_object_absent_on_prompt_frame_is_skipped(edited):
    ann, write = edited
    empty = mask_utils.encode(np.zeros((144, 176), np.uint8, order='F'))
    empty['counts'] = empty['counts'].decode()
    ann['masklet'][0][1] = empty  # object 1 absent on annotated frame 0
    ann['masklet'][2][2] = empty  # object 2 disappears on frame 2
    ds = build(write(ann), train=False, num_frames=4, clip_mode='first')
    frames = ds[0]['data_samples'].video_data_samples
    for f in frames:
        assert f.gt_instances.instances_ids.tolist() == [0, 2]
    areas = [f.gt_instances.masks.masks.sum((1, 2)) for f in frames]
    assert areas[2][1] == 0 and areas[1][1] > 0  # kept, empty mask


def test_frame_count_mismatch(edited, logs):
    ann, write = edited
    good = json.dumps(ann)
    ann['masklet'].append(ann['masklet'][-1])  # 13 annotated > 48 frames
    root = write(ann)
    with pytest.raises(SAVAnnotationError, match=VID):
        build(root, on_invalid='raise')[0]
    ds = build(root, on_invalid='skip')
    assert ds.prepare_data(0) is None
    assert any(VID in m and 'annotated frames' in m for m in logs)
    with pytest.raises(SAVAnnotationError, match=VID):
        build(root, train=False, num_frames=4)[0]  # test mode raises
    with pytest.raises(ValueError, match='no valid video'):
        build(root, check_on_init=True)
    # a second, valid video: only the bad one is dropped at start-up
    os.symlink(osp.join(root, VID + '.mp4'), osp.join(root, 'sav_000002.mp4'))
    with open(osp.join(root, 'sav_000002_manual.json'), 'w') as f:
        f.write(good)
    logs.clear()
    ds = build(root, check_on_init=True)
    assert [ds.get_data_info(i)['video_id']
            for i in range(len(ds))] == ['sav_000002']
    assert any(VID in m and 'skipped' in m for m in logs)


def test_mask_size_mismatch(edited):
    ann, write = edited
    small = mask_utils.encode(np.ones((72, 88), np.uint8, order='F'))
    small['counts'] = small['counts'].decode()
    ann['masklet'][3][0] = small
    with pytest.raises(SAVAnnotationError, match=f'{VID}.*mask size'):
        build(write(ann), on_invalid='raise')[0]
    ann['masklet'][3][0] = ann['masklet'][2][0]
    ann['video_height'] = 288.0
    with pytest.raises(SAVAnnotationError, match=f'{VID}.*video size'):
        build(write(ann), on_invalid='raise')[0]


def test_truncated_video_is_skipped_with_id(edited, repo_root, logs):
    ann, write = edited
    root = write(ann)
    os.remove(osp.join(root, VID + '.mp4'))
    data = open(osp.join(repo_root, 'data/samples/sav', VID + '.mp4'),
                'rb').read()
    with open(osp.join(root, VID + '.mp4'), 'wb') as f:
        f.write(data[:len(data) // 3])
    assert build(root).prepare_data(0) is None
    assert any(VID in m and 'truncated' in m for m in logs)
