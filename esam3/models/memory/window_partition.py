# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Split a feature map into a grid of non-overlapping windows."""
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ['window_partition', 'window_bounds']


def window_bounds(size: int, num: int) -> Tuple[Tensor, Tensor]:
    """Start and length of ``num`` near-equal, non-overlapping segments.

    Segment ``i`` covers ``[floor(i*size/num), floor((i+1)*size/num))``, so
    lengths differ by at most one and every cell belongs to exactly one
    segment.
    """
    if num < 1 or size < num:
        raise ValueError(f'cannot split {size} cells into {num} windows')
    edges = (torch.arange(num + 1) * size) // num
    return edges[:-1], edges[1:] - edges[:-1]


def window_partition(x: Tensor,
                     grid: Tuple[int, int]) -> Tuple[Tensor, Optional[Tensor]]:
    """Group the tokens of each grid window into one batch row.

    Args:
        x: channels-last map ``[B, H, W, C]``.
        grid: number of windows ``(rows, cols)``.

    Returns:
        ``(windows, mask)``: ``windows`` is ``[B * rows * cols, L, C]`` with
        windows in row-major grid order per sample (sample-major), ``L`` the
        largest window area. ``mask`` is None when ``H`` and ``W`` divide
        evenly (pure reshape); otherwise a bool ``[B * rows * cols, L]``
        marking the real tokens of smaller windows (the rest is padding).
    """
    b, h, w, c = x.shape
    gh, gw = grid
    if h % gh == 0 and w % gw == 0:
        wh, ww = h // gh, w // gw
        windows = x.reshape(b, gh, wh, gw, ww, c).permute(0, 1, 3, 2, 4, 5)
        return windows.reshape(b * gh * gw, wh * ww, c), None

    y0, ny = window_bounds(h, gh)
    x0, nx = window_bounds(w, gw)
    mh, mw = int(ny.max()), int(nx.max())
    ar_h, ar_w = torch.arange(mh), torch.arange(mw)
    rows = (y0[:, None] + ar_h).clamp(max=h - 1)  # [gh, mh]
    cols = (x0[:, None] + ar_w).clamp(max=w - 1)  # [gw, mw]
    valid_y = ar_h[None] < ny[:, None]
    valid_x = ar_w[None] < nx[:, None]
    index = rows[:, None, :, None] * w + cols[None, :, None, :]
    valid = valid_y[:, None, :, None] & valid_x[None, :, None, :]
    index = index.reshape(-1).to(x.device)  # [gh*gw*mh*mw]
    valid = valid.reshape(gh * gw, mh * mw).to(x.device)
    windows = x.reshape(b, h * w, c)[:, index]
    windows = windows.reshape(b * gh * gw, mh * mw, c)
    return windows, valid.repeat(b, 1)
