# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Spatio-temporal IoU of masklets (video instance masks over frames)."""
from typing import Dict, Optional, Sequence

import numpy as np
import pycocotools.mask as mask_utils


def masklet_iou(dt: Sequence[Sequence[Optional[Dict]]],
                gt: Sequence[Sequence[Optional[Dict]]]) -> np.ndarray:
    """IoU matrix between two sets of masklets.

    The IoU of two masklets is the intersection summed over all frames
    divided by the union summed over all frames (the masklet IoU of the
    SA-Co video benchmark and of YouTube-VIS), so a masklet that is right
    on some frames and missing on others is penalised in proportion.

    Args:
        dt: ``[D][T]`` COCO RLEs (``None`` = absent on that frame).
        gt: ``[G][T]`` COCO RLEs (``None`` = absent), same ``T``.

    Returns:
        ndarray: ``[D, G]`` float IoU (0 where both masklets are empty).
    """
    num_frames = {len(m) for m in list(dt) + list(gt)}
    if len(num_frames) > 1:
        raise ValueError(f'masklets cover different frame counts '
                         f'{sorted(num_frames)}')
    inter = np.zeros((len(dt), len(gt)))
    area_d = np.zeros(len(dt))
    area_g = np.zeros(len(gt))
    t_len = num_frames.pop() if num_frames else 0
    for t in range(t_len):
        d_idx = [i for i, m in enumerate(dt) if m[t] is not None]
        g_idx = [j for j, m in enumerate(gt) if m[t] is not None]
        d_rle = [dt[i][t] for i in d_idx]
        g_rle = [gt[j][t] for j in g_idx]
        a_d = mask_utils.area(d_rle).astype(float) if d_rle else np.zeros(0)
        a_g = mask_utils.area(g_rle).astype(float) if g_rle else np.zeros(0)
        area_d[d_idx] += a_d
        area_g[g_idx] += a_g
        if not d_rle or not g_rle:
            continue
        iou = np.asarray(
            mask_utils.iou(d_rle, g_rle, [0] * len(g_rle)),
            dtype=float).reshape(len(d_rle), len(g_rle))
        # |A n B| = IoU (|A| + |B|) / (1 + IoU)
        frame_inter = iou * (a_d[:, None] + a_g[None]) / (1.0 + iou)
        inter[np.ix_(d_idx, g_idx)] += frame_inter
    union = area_d[:, None] + area_g[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
