# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Fixed sine positional encodings used by the memory modules."""
import math
from typing import Optional

import torch
from torch import Tensor

__all__ = ['sine_position_encoding_1d', 'sine_position_encoding_2d']


def sine_position_encoding_1d(positions: Tensor,
                              dim: int,
                              temperature: float = 10000.) -> Tensor:
    """1D sine/cosine encoding of (possibly fractional) positions.

    Args:
        positions: positions of any shape ``[...]``.
        dim: output channels (even).
        temperature: frequency base.

    Returns:
        Tensor ``[..., dim]``: ``dim / 2`` sines followed by ``dim / 2``
        cosines.
    """
    if dim % 2:
        raise ValueError(f'dim must be even, got {dim}')
    half = dim // 2
    idx = torch.arange(half, dtype=torch.float32, device=positions.device)
    freqs = temperature**(2 * (idx // 2) / half)
    angles = positions.float().unsqueeze(-1) / freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def sine_position_encoding_2d(height: int,
                              width: int,
                              dim: int,
                              temperature: float = 10000.,
                              normalize: bool = True,
                              device: Optional[torch.device] = None,
                              dtype: torch.dtype = torch.float32) -> Tensor:
    """DETR/SAM-style 2D sine encoding of a ``height x width`` grid.

    The first ``dim / 2`` channels encode the row (y), the last ``dim / 2``
    the column (x); each half interleaves sine and cosine.

    Args:
        height: grid rows.
        width: grid columns.
        dim: output channels (multiple of 4).
        temperature: frequency base.
        normalize: scale cell positions to ``(0, 2*pi]`` so that grids of
            different sizes share one coordinate range.
        device: output device.
        dtype: output dtype.

    Returns:
        Tensor ``[dim, height, width]``.
    """
    if dim % 4:
        raise ValueError(f'dim must be a multiple of 4, got {dim}')
    num_feats = dim // 2
    y = torch.arange(1, height + 1, dtype=torch.float32, device=device)
    x = torch.arange(1, width + 1, dtype=torch.float32, device=device)
    if normalize:
        eps = 1e-6
        y = y / (height + eps) * 2 * math.pi
        x = x / (width + eps) * 2 * math.pi
    idx = torch.arange(num_feats, dtype=torch.float32, device=device)
    freqs = temperature**(2 * (idx // 2) / num_feats)
    pos_y = y[:, None] / freqs  # [H, F]
    pos_x = x[:, None] / freqs  # [W, F]
    pos_y = torch.stack([pos_y[:, 0::2].sin(), pos_y[:, 1::2].cos()],
                        dim=-1).flatten(1)
    pos_x = torch.stack([pos_x[:, 0::2].sin(), pos_x[:, 1::2].cos()],
                        dim=-1).flatten(1)
    pos = torch.cat([
        pos_y[:, None, :].expand(height, width, num_feats),
        pos_x[None, :, :].expand(height, width, num_feats)
    ],
                    dim=-1)
    return pos.permute(2, 0, 1).contiguous().to(dtype)
