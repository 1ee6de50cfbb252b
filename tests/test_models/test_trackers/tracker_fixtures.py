# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Tiny video trackers and synthetic clips shared by the Stage 2 tests."""
import os.path as osp

import numpy as np
import pycocotools.mask as mask_utils
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.structures import InstanceData

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
SIZE = 224


def video_tracker_cfg() -> dict:
    """``dict(config=...)`` of the tiny random SAM3 video tracker."""
    return Config.fromfile(
        osp.join(REPO,
                 'configs/_base_/models/sam3_video_tiny.py')).video_tracker_cfg


def teacher_cfg() -> dict:
    return dict(type='Sam3VideoTeacher', **video_tracker_cfg())


def student_cfg(bank: str = 'PerceiverMemoryBank', **kwargs) -> dict:
    """Tiny student: EfficientViT-B0 encoder + 8 global and 4x4 window
    latents per memory frame (24 tokens instead of 16x16 = 256)."""
    memory_bank = dict(type=bank, max_cond_frames=1)
    if bank == 'PerceiverMemoryBank':
        memory_bank['perceiver'] = dict(
            type='SpatialPerceiver',
            dim=64,
            num_global_latents=8,
            grid_size=(4, 4),
            depth=2,
            dropout=0.1)
    cfg = dict(
        type='Sam3VideoTrackerStudent',
        trunk=dict(
            type='StudentTrunk',
            backbone=dict(type='TimmBackbone', model_name='efficientvit_b0'),
            neck=dict(
                type='Sam3AlignHead',
                mode='trunk',
                out_channels=32,
                out_size=(16, 16))),
        sam3_video=video_tracker_cfg(),
        memory_bank=memory_bank,
        frozen_heads=[
            'vision_encoder', 'prompt_encoder', 'no_memory_embedding',
            'mask_decoder.iou_prediction_head'
        ])
    cfg.update(kwargs)
    return cfg


def toy_masks(t: int,
              n: int,
              size: int = SIZE,
              shift: int = 6) -> torch.Tensor:
    """Bool ``[T, N, S, S]``: N rectangles moving right by ``shift`` px per
    frame."""
    masks = torch.zeros(t, n, size, size, dtype=torch.bool)
    for i in range(t):
        for j in range(n):
            y0, x0 = 20 + 60 * j, 20 + shift * i + 10 * j
            masks[i, j, y0:y0 + 40, x0:x0 + 50] = True
    return masks


def toy_frames(masks: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Normalised frames ``[T, 3, S, S]`` showing the objects of ``masks``
    (each object a flat colour on a textured background)."""
    g = torch.Generator().manual_seed(seed)
    t, n, h, w = masks.shape
    frames = 0.2 * torch.randn(1, 3, h, w, generator=g).repeat(t, 1, 1, 1)
    colours = torch.rand(n, 3, generator=g) * 1.6 - 0.8
    for j in range(n):
        frames = torch.where(masks[:, j, None], colours[j].view(1, 3, 1, 1),
                             frames)
    return frames


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode()
    return rle


def make_track_sample(masks: torch.Tensor,
                      video_id: str = 'toy',
                      ori_scale: int = 2,
                      img_w: int = SIZE - 24) -> TrackDataSample:
    """A packed clip as the video pipelines produce it: per-frame GT at
    the padded size, ``img_shape`` without the right padding and
    ``gt_rles`` at an original resolution ``ori_scale`` times larger."""
    t, n, h, w = masks.shape
    ori = (h * ori_scale, img_w * ori_scale)
    frames = []
    for i in range(t):
        m = masks[i].numpy().astype(np.uint8)
        m[:, :, img_w:] = 0
        up = m[:, :h, :img_w].repeat(ori_scale, 1).repeat(ori_scale, 2)
        ds = DetDataSample(
            metainfo=dict(
                frame_id=i,
                img_id=f'{video_id}/{i:05d}',
                img_path=f'/nonexistent/{video_id}/{i:05d}.jpg',
                ori_shape=ori,
                img_shape=(h, img_w),
                pad_shape=(h, w),
                scale_factor=(1 / ori_scale, 1 / ori_scale),
                gt_rles=[_rle(x) for x in up]))
        ds.gt_instances = InstanceData(
            masks=BitmapMasks(m, h, w),
            instances_ids=torch.arange(1, n + 1),
            labels=torch.zeros(n, dtype=torch.long))
        frames.append(ds)
    sample = TrackDataSample(metainfo=dict(video_id=video_id, video_length=t))
    sample.video_data_samples = frames
    return sample
