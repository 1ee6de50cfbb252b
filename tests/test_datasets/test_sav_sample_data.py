# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""The bundled real video sample (SA-V + DAVIS layouts) is valid."""
import json
import math
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from esam3.datasets.video_io import probe_video, read_video_frames

SAV = 'data/samples/sav'
DAVIS = 'data/samples/davis'


@pytest.fixture(scope='module')
def sav(repo_root):
    with open(osp.join(repo_root, SAV, 'sav_000001_manual.json')) as f:
        ann = json.load(f)
    masks = np.stack([
        mask_utils.decode(frame).transpose(2, 0, 1) for frame in ann['masklet']
    ]).astype(bool)  # [K, O, H, W]
    return ann, masks


def _iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def test_decord_reads_the_clip(repo_root):
    path = osp.join(repo_root, SAV, 'sav_000001.mp4')
    info = probe_video(path)
    assert (info['num_frames'], info['height'], info['width']) == (48, 144,
                                                                   176)
    assert info['fps'] == pytest.approx(24, abs=0.1)
    frames = read_video_frames(path, [0, 47])
    assert len(frames) == 2 and frames[0].shape == (144, 176, 3)
    assert frames[0].dtype == np.uint8 and frames[0].std() > 20  # real


def test_sav_json_format_and_rle_sizes(sav):
    ann, masks = sav
    n = int(ann['video_frame_count'])
    assert ann['masklet_num'] == len(ann['masklet_id']) == 3
    assert len(ann['masklet']) == math.ceil(n / 4) == 12
    for key in ('video_id', 'video_height', 'video_width', 'video_duration',
                'masklet_first_appeared_frame', 'masklet_frame_count',
                'masklet_size_bucket', 'masklet_type'):
        assert key in ann
    for frame in ann['masklet']:
        assert len(frame) == 3
        for rle in frame:
            assert rle['size'] == [144, 176]
            assert isinstance(rle['counts'], str)
    assert masks.shape == (12, 3, 144, 176)


def test_objects_are_coherent_real_segments(sav, repo_root):
    _, masks = sav
    areas = masks.sum((2, 3))
    assert (areas > 50).all()  # every object visible in every frame
    for o in range(3):
        for k in range(len(masks) - 1):
            assert _iou(masks[k, o], masks[k + 1, o]) > 0.3, (o, k)
    # mutually exclusive (DAVIS palette needs it)
    assert (masks.sum(1) <= 1).all()
    # colours agree with the object names: bow tie red, seat cover blue
    frames = read_video_frames(
        osp.join(repo_root, SAV, 'sav_000001.mp4'), range(0, 48, 4))
    lab = np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2LAB) for f in frames])
    a_star = lab[..., 1].astype(float)
    tie, seat = masks[:, 0], masks[:, 2]
    assert a_star[tie].mean() > a_star[~tie].mean() + 15
    bgr = np.stack(frames).astype(float)
    assert (bgr[..., 0][seat] - bgr[..., 2][seat]).mean() > 40


def test_davis_layout_matches_sav_json(sav, repo_root):
    _, masks = sav
    root = osp.join(repo_root, DAVIS)
    with open(osp.join(root, 'ImageSets/2017/val.txt')) as f:
        assert f.read().split() == ['carphone']
    img_dir = osp.join(root, 'JPEGImages/480p/carphone')
    ann_dir = osp.join(root, 'Annotations/480p/carphone')
    for t in range(48):
        assert osp.isfile(osp.join(img_dir, f'{t:05d}.jpg'))
        png = Image.open(osp.join(ann_dir, f'{t:05d}.png'))
        assert png.mode == 'P'
        index = np.asarray(png)
        assert set(np.unique(index)) <= {0, 1, 2, 3}
        if t % 4 == 0:
            for o in range(3):  # DAVIS id = masklet id + 1
                assert np.array_equal(index == o + 1, masks[t // 4, o])


def test_saco_sample_pairs(repo_root):
    root = osp.join(repo_root, 'data/samples/saco')
    with open(osp.join(root, 'annotations.json')) as f:
        data = json.load(f)
    counts = {}
    for a in data['annotations']:
        counts[a['image_id']] = counts.get(a['image_id'], 0) + 1
    pairs = {
        (im['file_name'], im['text_input']): counts.get(im['id'], 0)
        for im in data['images']
    }
    assert pairs[('images/coins.jpg', 'coin')] == 24
    assert pairs[('images/chelsea.jpg', 'eye')] == 2
    assert pairs[('images/chelsea.jpg', 'dog')] == 0  # negative pair
    assert sum(v == 0 for v in pairs.values()) == 4
    images = {im['id']: im for im in data['images']}
    for a in data['annotations']:
        im = images[a['image_id']]
        m = mask_utils.decode(a['segmentation'])
        assert m.shape == (im['height'], im['width']) and m.sum() > 100
        x, y, w, h = a['bbox']  # normalised, as in SA-Co/Gold
        assert 0 <= x <= 1 and 0 <= y <= 1 and 0 < w <= 1 and 0 < h <= 1
        assert a['area'] == pytest.approx(m.sum() / m.size)
        assert cv2.imread(osp.join(
            root, im['file_name'])).shape[:2] == (im['height'], im['width'])
