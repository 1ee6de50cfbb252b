# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Ground truth of video clips (TrackDataSample) as tensors, shared by the
Stage 2 and Stage 3 distillers."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .base_distiller import as_bool_masks


def frame_samples(sample) -> list:
    """Per-frame ``DetDataSample`` s of a ``TrackDataSample``."""
    frames = getattr(sample, 'video_data_samples', None)
    if frames is None:
        raise TypeError('clip models expect TrackDataSample inputs '
                        '(per-frame video_data_samples)')
    return list(frames)


def clip_gt_masks(sample, size: Tuple[int, int], device) -> Tensor:
    """GT masks of a clip at the padded input size: bool ``[T, N, S, S]``
    (same N objects in every frame, as the video pipelines pack them)."""
    masks = []
    for ds in frame_samples(sample):
        m = as_bool_masks(ds.gt_instances.masks, device)
        if m.shape[-2:] != size:
            m = F.pad(m, (0, size[1] - m.shape[-1], 0, size[0] - m.shape[-2]))
        masks.append(m)
    n = {m.shape[0] for m in masks}
    if len(n) != 1:
        raise ValueError(f'clip frames carry different object counts {n}')
    return torch.stack(masks)


def clip_objects(inputs: Tensor,
                 data_samples: Sequence,
                 max_objects: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """GT masks of the objects visible on each clip's first frame.

    Args:
        inputs: clip batch ``[B, T, 3, S, S]`` (for its size and device).
        data_samples: one ``TrackDataSample`` per clip.
        max_objects: keep at most this many objects per clip (lowest
            columns first); ``None`` keeps all.

    Returns:
        ``(gt, valid)``: bool ``[B, T, N, S, S]`` (clips with fewer objects
        padded with empty masks) and bool ``[B, N]`` marking real objects.
    """
    size = tuple(inputs.shape[-2:])
    per_clip = []
    for ds in data_samples:
        gt = clip_gt_masks(ds, size, inputs.device)
        keep = gt[0].flatten(1).any(1).nonzero()[:, 0]
        per_clip.append(gt[:, keep[:max_objects]])
    b, t = inputs.shape[:2]
    n = max(g.shape[1] for g in per_clip)
    gt = inputs.new_zeros((b, t, n) + size, dtype=torch.bool)
    valid = torch.zeros(b, n, dtype=torch.bool, device=inputs.device)
    for i, g in enumerate(per_clip):
        gt[i, :, :g.shape[1]] = g
        valid[i, :g.shape[1]] = True
    return gt, valid
