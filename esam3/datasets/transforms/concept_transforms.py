# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Packing of concept (noun phrase + exemplar boxes) samples (Stage 3)."""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.datasets.transforms import PackDetInputs

from esam3.registry import TRANSFORMS


def _unpadded_shape(results: dict) -> Tuple[int, int]:
    """Image shape after resize, before padding.

    mmcv's ``Pad`` overwrites ``img_shape`` with the padded shape; the
    resized extent is then recovered from ``ori_shape`` and ``scale_factor``
    (the same rounding as mmcv's rescale), bounded by the padded shape. An
    ``img_shape`` that differs from ``pad_shape`` (e.g. after
    ``PadBottomRight``) is kept.
    """
    img_shape = tuple(int(s) for s in results['img_shape'][:2])
    pad, scale = results.get('pad_shape'), results.get('scale_factor')
    if pad is None or scale is None or img_shape != tuple(
            int(s) for s in pad[:2]):
        return img_shape
    ori = results['ori_shape']
    return (min(int(ori[0] * scale[1] + 0.5),
                int(pad[0])), min(int(ori[1] * scale[0] + 0.5), int(pad[1])))


def map_boxes(boxes: np.ndarray, results: dict,
              img_shape: Sequence[int]) -> np.ndarray:
    """Map xyxy boxes from original pixels to the transformed image.

    Uses the ``homography_matrix`` accumulated by MMDetection's geometric
    transforms (Resize, RandomFlip, RandomCrop, ...) when present, else
    ``scale_factor`` and ``flip``/``flip_direction``. Boxes are clipped to
    ``img_shape`` and the ones left empty are dropped.

    Args:
        boxes (np.ndarray): ``[E, 4]`` xyxy boxes in original pixels.
        results (dict): Pipeline results after the geometric transforms.
        img_shape (Sequence[int]): (h, w) of the image before padding.

    Returns:
        np.ndarray: float32 ``[E', 4]`` boxes in input pixels.
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    h, w = int(img_shape[0]), int(img_shape[1])
    if len(boxes) == 0:
        return boxes
    hom = results.get('homography_matrix')
    if hom is not None:
        x1, y1, x2, y2 = boxes.T
        corners = np.stack([
            np.stack([x1, y1]),
            np.stack([x2, y1]),
            np.stack([x1, y2]),
            np.stack([x2, y2])
        ], 0)  # [4, 2, E]
        pts = np.concatenate([corners, np.ones_like(corners[:, :1])], 1)
        warped = np.einsum('ij,cje->cie', np.asarray(hom, np.float64), pts)
        xy = warped[:, :2] / warped[:, 2:3]
        boxes = np.stack([
            xy[:, 0].min(0), xy[:, 1].min(0), xy[:, 0].max(0), xy[:, 1].max(0)
        ], 1)
    else:
        sx, sy = results.get('scale_factor', (1.0, 1.0))[:2]
        boxes = boxes * np.array([sx, sy, sx, sy], np.float32)
        direction = results.get('flip_direction')
        if results.get('flip',
                       False) and direction in ('horizontal', 'diagonal'):
            boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
        if results.get('flip',
                       False) and direction in ('vertical', 'diagonal'):
            boxes[:, [1, 3]] = h - boxes[:, [3, 1]]
    boxes = boxes.astype(np.float32)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[keep]


@TRANSFORMS.register_module()
class PackConceptInputs(PackDetInputs):
    """Pack a concept sample: MMDetection's ``PackDetInputs`` + PCS fields.

    Besides what ``PackDetInputs`` packs (``inputs`` uint8 ``[3, S, S]``,
    ``gt_instances`` with masks/bboxes/labels), the DetDataSample metainfo
    gets ``text``, ``is_negative``, ``label``, ``gt_rles`` and
    ``exemplar_boxes`` (float tensor ``[E, 4]``, xyxy in input pixels):
    exemplar boxes given in original pixels by the dataset are mapped with
    the same resize/flip(/crop) as the image (see :func:`map_boxes`), so
    they stay consistent with the GT boxes. ``img_shape`` is the shape
    before padding and ``pad_shape`` the padded one (docs/contracts.md).

    Args:
        meta_keys (Sequence[str], optional): Meta keys to pack. Defaults to
            :attr:`DEFAULT_META_KEYS`.
    """

    DEFAULT_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape',
                         'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                         'text', 'is_negative', 'label', 'exemplar_boxes',
                         'gt_rles', 'hard_negative')

    def __init__(self, meta_keys: Optional[Sequence[str]] = None) -> None:
        super().__init__(meta_keys=tuple(meta_keys or self.DEFAULT_META_KEYS))

    def transform(self, results: dict) -> dict:
        """Map the exemplar boxes, fix shapes, then pack."""
        shape = _unpadded_shape(results)
        boxes = map_boxes(
            results.get('exemplar_boxes', np.zeros((0, 4), np.float32)),
            results, shape)
        results['exemplar_boxes'] = torch.from_numpy(boxes)
        results['pad_shape'] = tuple(
            int(s) for s in results.get('pad_shape', results['img'].shape)[:2])
        results['img_shape'] = shape
        results['is_negative'] = bool(results.get('is_negative', False))
        return super().transform(results)
