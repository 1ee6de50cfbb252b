# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Memory bank storing Perceiver-compressed memory frames (EdgeTAM)."""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn

from esam3.registry import MODELS
from .base_memory_bank import BaseMemoryBank
from .window_partition import window_bounds


@MODELS.register_module()
class PerceiverMemoryBank(BaseMemoryBank):
    """Memory bank whose frames are compressed by a :class:`SpatialPerceiver`.

    Each appended memory map ``[B*, C, H, W]`` is compressed once into
    ``K`` latents ``[B*, K, C]`` (+ their positional encoding), so
    ``gather`` returns ``N*K + P`` tokens instead of ``N*H*W + P``. The
    Perceiver is a sub-module of the bank and is trained with it. See
    :class:`BaseMemoryBank` for the frame / pointer policy and the other
    arguments.

    Args:
        perceiver: config (or module) of the compressor; its output width
            must equal ``mem_dim`` (default: ``SpatialPerceiver`` with its
            defaults at width ``mem_dim``).
        **kwargs: :class:`BaseMemoryBank` arguments.
    """

    def __init__(self,
                 perceiver: Union[dict, nn.Module, None] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if perceiver is None:
            perceiver = dict(type='SpatialPerceiver', dim=self.mem_dim)
        self.perceiver = MODELS.build(perceiver) if isinstance(
            perceiver, dict) else perceiver
        out = getattr(self.perceiver, 'out_channels', self.mem_dim)
        if out != self.mem_dim:
            raise ValueError(f'Perceiver outputs {out} channels, bank '
                             f'expects {self.mem_dim}')

    def tokens_per_frame(self, height: int, width: int) -> int:
        """``K`` latents per frame, whatever the map size."""
        return self.perceiver.num_latents

    def num_unrotated_per_frame(self) -> int:
        """The global latents (first in every frame) have no position."""
        return self.perceiver.num_global_latents

    def key_positions(self, height: int, width: int) -> Tensor:
        """Window centres of the 2D latents (row-major windows): window
        ``[x0, x0 + w)`` is centred at ``x0 + (w - 1) / 2`` in query-grid
        cells (EdgeTAM rotates each 2D latent at its window's place)."""
        rows, cols = self.perceiver.grid_size
        if not rows * cols:
            raise ValueError('this Perceiver has no 2D latents')
        y0, hs = window_bounds(height, rows)
        x0, ws = window_bounds(width, cols)
        cy = y0.float() + (hs.float() - 1) / 2
        cx = x0.float() + (ws.float() - 1) / 2
        ys, xs = torch.meshgrid(cy, cx, indexing='ij')
        return torch.stack([xs.flatten(), ys.flatten()], 1)

    def encode(self, memory_feats: Tensor,
               memory_pos: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Compress ``[B*, C, H, W]`` into ``([B*, K, C], [B*, K, C])``."""
        return self.perceiver(memory_feats, memory_pos)
