# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Small hand-made inputs shared by the distiller tests."""
import os.path as osp

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.structures import InstanceData

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def tiny_sam3_cfg() -> dict:
    return Config.fromfile(
        osp.join(REPO, 'configs/_base_/models/sam3_tiny.py')).sam3_cfg


def tiny_student_cfg(frozen_heads=('detector', )) -> dict:
    return dict(
        type='EfficientSAM3',
        trunk=dict(
            type='StudentTrunk',
            backbone=dict(type='TimmBackbone', model_name='efficientvit_b0'),
            neck=dict(
                type='Sam3AlignHead',
                mode='trunk',
                out_channels=32,
                out_size=(16, 16))),
        sam3=tiny_sam3_cfg(),
        frozen_heads=list(frozen_heads))


def make_samples(n_images: int = 2, size: int = 224):
    """Rectangles and an L-shape with boxes, as packed by the pipelines."""
    samples = []
    for i in range(n_images):
        m = np.zeros((3, size, size), np.uint8)
        m[0, 20 + i:80, 30:90] = 1
        m[1, 100:200, 100:150] = 1
        m[2, 150:160, 10:60] = 1
        m[2, 120:160, 10:20] = 1
        boxes = torch.tensor([[30, 20 + i, 90, 80], [100, 100, 150, 200],
                              [10, 120, 60, 160]]).float()
        ds = DetDataSample(
            metainfo=dict(
                img_shape=(size, size - 24),
                ori_shape=(2 * size, 2 * size - 48),
                pad_shape=(size, size),
                scale_factor=(0.5, 0.5),
                img_id=i))
        ds.gt_instances = InstanceData(
            masks=BitmapMasks(m, size, size),
            bboxes=boxes,
            labels=torch.zeros(3).long())
        samples.append(ds)
    return samples
