# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Mask IoU and the DAVIS region similarity J."""
from typing import Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]


def to_bool_array(masks: ArrayLike) -> np.ndarray:
    """Convert a numpy array / torch tensor of masks to a numpy bool array.

    Non-bool inputs are thresholded at > 0 (so uint8 {0, 1} and {0, 255} masks
    and logits all work).
    """
    if isinstance(masks, torch.Tensor):
        masks = masks.detach().cpu().numpy()
    masks = np.asarray(masks)
    return masks if masks.dtype == bool else masks > 0


def mask_iou(pred: ArrayLike,
             gt: ArrayLike,
             empty_value: float = 1.0) -> Union[float, np.ndarray]:
    """Element-wise IoU of masks over the last two (pixel) dims.

    Args:
        pred (ndarray | Tensor): ``[..., H, W]`` masks.
        gt (ndarray | Tensor): Same shape.
        empty_value (float): IoU when both masks are empty (union 0).
            Defaults to 1.0 (DAVIS convention).

    Returns:
        float | ndarray: IoU, a float for 2-D inputs, else shape ``[...]``.
    """
    pred, gt = to_bool_array(pred), to_bool_array(gt)
    if pred.shape != gt.shape:
        raise ValueError(f'mask_iou: shapes differ: {pred.shape} vs '
                         f'{gt.shape}')
    if pred.ndim < 2:
        raise ValueError(f'mask_iou: masks must be [..., H, W], got '
                         f'{pred.shape}')
    inter = np.logical_and(pred, gt).sum(axis=(-2, -1))
    union = np.logical_or(pred, gt).sum(axis=(-2, -1))
    iou = np.where(union > 0, inter / np.maximum(union, 1), empty_value)
    return float(iou) if iou.ndim == 0 else iou.astype(np.float64)


def db_eval_iou(gt: ArrayLike, pred: ArrayLike) -> Union[float, np.ndarray]:
    """DAVIS region similarity J (Jaccard index); both empty -> 1.

    Args:
        gt (ndarray | Tensor): ``[..., H, W]`` annotation masks.
        pred (ndarray | Tensor): Same shape, predicted masks.

    Returns:
        float | ndarray: J per mask.
    """
    return mask_iou(pred, gt, empty_value=1.0)


def pairwise_mask_iou(masks1: ArrayLike,
                      masks2: ArrayLike,
                      empty_value: float = 0.0) -> np.ndarray:
    """IoU between every pair of two mask sets.

    Args:
        masks1 (ndarray | Tensor): ``[N, H, W]``.
        masks2 (ndarray | Tensor): ``[M, H, W]``.
        empty_value (float): IoU of a pair with empty union. Defaults 0.

    Returns:
        ndarray: ``[N, M]`` float64.
    """
    a, b = to_bool_array(masks1), to_bool_array(masks2)
    if a.ndim != 3 or b.ndim != 3 or a.shape[1:] != b.shape[1:]:
        raise ValueError('pairwise_mask_iou: need [N, H, W] and [M, H, W] '
                         f'with the same H, W, got {a.shape} and {b.shape}')
    a2 = a.reshape(a.shape[0], -1).astype(np.float64)
    b2 = b.reshape(b.shape[0], -1).astype(np.float64)
    inter = a2 @ b2.T
    union = a2.sum(1)[:, None] + b2.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), empty_value)
