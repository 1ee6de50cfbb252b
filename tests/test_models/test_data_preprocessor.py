# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Sam3DataPreprocessor and preprocess_image (training == deployment)."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config

from esam3.datasets import CocoPromptDataset, SA1BDataset
from esam3.models.data_preprocessors import (Sam3DataPreprocessor,
                                             preprocess_image)
from esam3.registry import MODELS


def _bgr_image(h, w, b=255, g=0, r=51):
    img = torch.zeros(3, h, w, dtype=torch.uint8)  # packed: C=BGR
    img[0], img[1], img[2] = b, g, r
    return img


def test_normalisation_hand_computed():
    pre = MODELS.build(dict(type='Sam3DataPreprocessor'))
    assert pre.mean.flatten().tolist() == [127.5] * 3
    out = pre(dict(inputs=[_bgr_image(4, 5)]))
    x = out['inputs']
    assert x.shape == (1, 3, 4, 5) and x.dtype == torch.float32
    # RGB order after BGR->RGB: R=51 -> -0.6, G=0 -> -1, B=255 -> 1
    assert torch.allclose(x[0, :, 0, 0], torch.tensor([-0.6, -1.0, 1.0]))
    assert out['data_samples'] is None
    rgb = Sam3DataPreprocessor(bgr_to_rgb=False)(
        dict(inputs=[_bgr_image(2, 2)]))['inputs']
    assert torch.allclose(rgb[0, :, 0, 0], torch.tensor([1.0, -1.0, -0.6]))


def test_stacking_padding_and_samples():
    pre = Sam3DataPreprocessor(pad_size=8)
    samples = [
        DetDataSample(metainfo=dict(img_shape=(6, 8))),
        DetDataSample(metainfo=dict(img_shape=(8, 5)))
    ]
    out = pre(
        dict(
            inputs=[_bgr_image(6, 8), _bgr_image(8, 5)], data_samples=samples))
    x = out['inputs']
    assert x.shape == (2, 3, 8, 8)
    # raw 0 padding at bottom/right, as PadBottomRight does -> -1
    assert (x[0, :, 6:, :] == -1).all() and (x[1, :, :, 5:] == -1).all()
    assert torch.allclose(x[0, 2, 5, 7], torch.tensor(1.0))
    assert [s.batch_input_shape for s in out['data_samples']] == [(8, 8)] * 2
    assert out['data_samples'][0].img_shape == (6, 8)
    stacked = pre(dict(inputs=torch.stack([_bgr_image(8, 8)] * 3)))
    assert stacked['inputs'].shape == (3, 3, 8, 8)
    with pytest.raises(ValueError, match='larger'):
        pre(dict(inputs=[_bgr_image(9, 8)]))
    with pytest.raises(ValueError):
        pre(dict(inputs=[torch.zeros(2, 8, 8, dtype=torch.uint8)]))


def test_video_inputs():
    pre = Sam3DataPreprocessor()
    clip = torch.stack([_bgr_image(6, 7)] * 4)  # [T, 3, H, W]
    track = TrackDataSample()
    track.video_data_samples = [DetDataSample() for _ in range(4)]
    out = pre(dict(inputs=[clip, clip.clone()], data_samples=[track, track]))
    x = out['inputs']
    assert x.shape == (2, 4, 3, 6, 7)
    assert torch.allclose(x[1, 3, :, 5, 6], torch.tensor([-0.6, -1.0, 1.0]))
    frames = out['data_samples'][0].video_data_samples
    assert frames[0].batch_input_shape == (6, 7)
    padded = Sam3DataPreprocessor(pad_size=8)(
        dict(inputs=torch.stack([clip] * 2)))['inputs']
    assert padded.shape == (2, 4, 3, 8, 8)
    with pytest.raises(ValueError, match='lengths'):
        pre(dict(inputs=[clip, clip[:2]]))


def test_preprocess_image_equals_test_pipeline(repo_root):
    """Deployment preprocessing == test pipeline + data preprocessor."""
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', '_base_', 'datasets', 'sa1b_tiny.py'))
    pre = MODELS.build(
        dict(
            type='Sam3DataPreprocessor',
            mean=[127.5] * 3,
            std=[127.5] * 3,
            bgr_to_rgb=True))
    sa1b = SA1BDataset(
        data_root=osp.join(repo_root, 'data', 'samples', 'sa1b'),
        ann_file='val.txt',
        test_mode=True,
        pipeline=cfg.test_pipeline)
    coco = CocoPromptDataset(**{
        k: v
        for k, v in cfg.val_dataloader.dataset.items() if k != 'type'
    })
    for out in (sa1b[0], sa1b[1], coco[1]):
        batch = pre(
            dict(inputs=[out['inputs']], data_samples=[out['data_samples']]))
        sample = batch['data_samples'][0]
        img = cv2.imread(sample.img_path)
        pixels, meta = preprocess_image(img, 224)
        assert pixels.shape == (1, 3, 224, 224)
        assert torch.equal(pixels, batch['inputs'])
        assert meta['img_shape'] == tuple(sample.img_shape)
        assert meta['ori_shape'] == tuple(sample.ori_shape)
        assert meta['pad_shape'] == tuple(sample.pad_shape)
        assert np.allclose(meta['scale_factor'], sample.scale_factor)
    # default: SAM3's square resize, per-axis scale, no padding
    small = np.full((30, 20, 3), 255, np.uint8)
    pixels, meta = preprocess_image(small, 64)
    assert meta['img_shape'] == (64, 64) and meta['pad_shape'] == (64, 64)
    assert meta['scale_factor'] == pytest.approx((64 / 20, 64 / 30))
    assert (pixels == 1).all()
    # letterbox option: the longest side, padded bottom/right
    pixels, meta = preprocess_image(small, 64, resize_mode='letterbox')
    assert meta['img_shape'] == (64, 43) and meta['pad_shape'] == (64, 64)
    assert (pixels[0, :, :, :43] == 1).all()
    assert (pixels[0, :, :, 43:] == -1).all()
    with pytest.raises(ValueError):
        preprocess_image(small.astype(np.float32), 64)
    with pytest.raises(ValueError, match='resize_mode'):
        preprocess_image(small, 64, resize_mode='pad')
