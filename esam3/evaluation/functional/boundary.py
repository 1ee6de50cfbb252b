# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""DAVIS boundary F-measure (contour accuracy F).

Definition (DAVIS 2016/2017 benchmark, Perazzi et al. 2016; checked against
the public ``davis2017-evaluation`` toolkit):

* boundary map: a pixel is on the boundary if its value differs from its
  right, bottom or bottom-right neighbour (neighbours outside the image do
  not count), i.e. 1-pixel-wide boundaries offset half a pixel towards the
  origin;
* tolerance ``r = ceil(bound_th * sqrt(H^2 + W^2))`` with ``bound_th =
  0.008`` (or ``r = bound_th`` pixels when ``bound_th >= 1``);
* each boundary map is dilated with a disk of radius ``r``
  (``x^2 + y^2 <= r^2``); precision = predicted boundary pixels within the
  dilated GT boundary / predicted boundary pixels; recall = GT boundary
  pixels within the dilated predicted boundary / GT boundary pixels;
* empty cases: both empty -> P = R = 1; only prediction empty -> P = 1,
  R = 0; only GT empty -> P = 0, R = 1; ``F = 2PR / (P + R)`` (0 if
  ``P + R = 0``).
"""
import math
from typing import Tuple

import cv2
import numpy as np

from .mask_iou import ArrayLike, to_bool_array


def boundary_tolerance(height: int,
                       width: int,
                       bound_th: float = 0.008) -> int:
    """Boundary tolerance in pixels: ``ceil(bound_th * diagonal)``.

    Args:
        height (int): Image height.
        width (int): Image width.
        bound_th (float): Fraction of the diagonal (< 1) or pixels (>= 1).

    Returns:
        int: Radius of the dilation disk.
    """
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(height, width)))


def disk_kernel(radius: int) -> np.ndarray:
    """Uint8 disk ``x^2 + y^2 <= radius^2`` of size ``2 radius + 1``."""
    r = int(radius)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (xx * xx + yy * yy <= r * r).astype(np.uint8)


def seg_to_boundary(mask: ArrayLike) -> np.ndarray:
    """1-pixel-wide boundary map of a binary mask.

    A pixel is a boundary pixel if it differs from its right, bottom or
    bottom-right neighbour inside the image.

    Args:
        mask (ndarray | Tensor): ``[H, W]`` mask.

    Returns:
        ndarray: ``[H, W]`` bool boundary map.
    """
    seg = to_bool_array(mask)
    if seg.ndim != 2:
        raise ValueError(f'seg_to_boundary: need [H, W], got {seg.shape}')
    bmap = np.zeros_like(seg)
    bmap[:, :-1] |= seg[:, :-1] != seg[:, 1:]
    bmap[:-1, :] |= seg[:-1, :] != seg[1:, :]
    bmap[:-1, :-1] |= seg[:-1, :-1] != seg[1:, 1:]
    return bmap


def boundary_precision_recall(pred: ArrayLike,
                              gt: ArrayLike,
                              bound_th: float = 0.008) -> Tuple[float, float]:
    """Boundary precision and recall of ``pred`` w.r.t. ``gt``.

    Args:
        pred (ndarray | Tensor): ``[H, W]`` predicted mask.
        gt (ndarray | Tensor): ``[H, W]`` annotation mask.
        bound_th (float): Tolerance, see :func:`boundary_tolerance`.

    Returns:
        tuple[float, float]: ``(precision, recall)``.
    """
    pred, gt = to_bool_array(pred), to_bool_array(gt)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError('boundary F: need two [H, W] masks of the same '
                         f'shape, got {pred.shape} and {gt.shape}')
    pred_b, gt_b = seg_to_boundary(pred), seg_to_boundary(gt)
    n_pred, n_gt = int(pred_b.sum()), int(gt_b.sum())
    if n_pred == 0 and n_gt == 0:
        return 1.0, 1.0
    if n_pred == 0:
        return 1.0, 0.0
    if n_gt == 0:
        return 0.0, 1.0
    kernel = disk_kernel(boundary_tolerance(*pred.shape, bound_th))
    pred_dil = cv2.dilate(pred_b.astype(np.uint8), kernel) > 0
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), kernel) > 0
    precision = np.logical_and(pred_b, gt_dil).sum() / n_pred
    recall = np.logical_and(gt_b, pred_dil).sum() / n_gt
    return float(precision), float(recall)


def f_measure(precision: float, recall: float) -> float:
    """Harmonic mean ``2PR / (P + R)``; 0 when ``P + R == 0``."""
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def db_eval_boundary(gt: ArrayLike,
                     pred: ArrayLike,
                     bound_th: float = 0.008) -> float:
    """DAVIS contour accuracy F of one ``[H, W]`` mask pair.

    Args:
        gt (ndarray | Tensor): ``[H, W]`` annotation mask.
        pred (ndarray | Tensor): ``[H, W]`` predicted mask.
        bound_th (float): Tolerance, see :func:`boundary_tolerance`.

    Returns:
        float: Boundary F-measure in [0, 1].
    """
    return f_measure(*boundary_precision_recall(pred, gt, bound_th))
