# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""The image and video demos write real overlay pictures."""
import os.path as osp

import cv2
import esam3_toy_helpers
import numpy as np
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IMAGE = osp.join(REPO, 'data/samples/sa1b/astronaut.jpg')
CLIP = osp.join(REPO, 'data/samples/davis/JPEGImages/480p/carphone')
LABELS = osp.join(REPO, 'data/samples/davis/Annotations/480p/carphone')


def _tool(name: str):
    return esam3_toy_helpers.load_tool(f'demo/{name}.py')


def test_image_demo_writes_overlay(tmp_path):
    out = tmp_path / 'sub' / 'demo.png'
    code = _tool('image_demo').main([
        IMAGE,
        osp.join(REPO, 'configs/stage1/tiny.py'), '--teacher', '--boxes',
        '154,17,300,189', '--points', '230,100:1', '200,60:0', '--out',
        str(out)
    ])
    assert code == 0 and out.is_file() and out.stat().st_size > 10_000
    drawn = cv2.imread(str(out))
    src = cv2.imread(IMAGE)
    assert drawn.shape == src.shape  # original size
    changed = np.abs(drawn.astype(int) - src.astype(int)).sum(-1) > 30
    assert changed.mean() > 0.01  # the overlay is visible ...
    assert changed.mean() < 0.95  # ... and the photo still is


def test_video_demo_writes_frames(tmp_path):
    out = tmp_path / 'frames'
    code = _tool('video_demo').main([
        CLIP,
        osp.join(REPO, 'configs/stage2/tiny.py'), '--teacher', '--mask-from',
        osp.join(LABELS, '00000.png'), '--max-frames', '2', '--out',
        str(out)
    ])
    assert code == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ['00000.png', '00001.png']
    drawn = cv2.imread(str(out / '00000.png'))
    src = cv2.imread(osp.join(CLIP, '00000.jpg'))
    assert drawn.shape == src.shape
    # the prompted objects are painted on frame 0
    label = np.asarray(Image.open(osp.join(LABELS, '00000.png')))
    diff = np.abs(drawn.astype(int) - src.astype(int)).sum(-1)
    assert diff[label > 0].mean() > 3 * diff[label == 0].mean()
