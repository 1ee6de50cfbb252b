# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Prompts of the video trackers, with objects folded into the batch."""
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from ..utils.prompts import BOX_BR_LABEL, BOX_TL_LABEL

__all__ = ['fold_prompt', 'prompt_num_objects']


def prompt_num_objects(prompt: Dict[str, Tensor]) -> int:
    """Objects per batch row ``N`` of a prompt dict."""
    for key in ('masks', 'points', 'boxes'):
        if prompt.get(key) is not None:
            return int(prompt[key].shape[1])
    raise ValueError('a prompt needs masks, points or boxes; got keys '
                     f'{sorted(prompt)}')


def fold_prompt(
    prompt: Dict[str, Tensor]
) -> Tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor]]:
    """Flatten ``[B, N, ...]`` prompts to ``[B*N, ...]``.

    Args:
        prompt: ``masks`` bool/float ``[B, N, S, S]``; or ``points``
            ``[B, N, n, 2]`` (xy input pixels) with ``labels`` ``[B, N, n]``
            and/or ``boxes`` ``[B, N, 4]`` xyxy input pixels.

    Returns:
        ``(masks [B*N, 1, S, S] float, points [B*N, 1, m, 2],
        labels [B*N, 1, m])``: masks, or SAM point prompts in which a box is
        its two corners with labels 2 / 3 (as transformers' processor
        does), followed by the clicks.
    """
    masks = prompt.get('masks')
    if masks is not None:
        return masks.flatten(0, 1)[:, None].float(), None, None
    points, labels = prompt.get('points'), prompt.get('labels')
    boxes = prompt.get('boxes')
    coords, lbls = [], []
    if boxes is not None:
        bn = boxes.shape[0] * boxes.shape[1]
        coords.append(boxes.reshape(bn, 2, 2).float())
        lbls.append(
            torch.tensor([BOX_TL_LABEL, BOX_BR_LABEL],
                         device=boxes.device).repeat(bn, 1))
    if points is not None:
        if labels is None:
            raise ValueError('point prompts need labels')
        coords.append(points.flatten(0, 1).float())
        lbls.append(labels.flatten(0, 1).long())
    if not coords:
        raise ValueError('a prompt needs masks, points or boxes')
    coords = torch.cat(coords, dim=1)[:, None]
    lbls = torch.cat(lbls, dim=1)[:, None].int()
    return None, coords, lbls
