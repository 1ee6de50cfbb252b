# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Exportable Perceiver memory step."""
from typing import Tuple

from torch import Tensor, nn


class PerceiverOnnx(nn.Module):
    """One memory-bank write: memory map (+ pos) -> latents, latent pos.

    Wraps :class:`~esam3.models.memory.SpatialPerceiver` (the compressor of
    ``PerceiverMemoryBank``); the memory map size is fixed by the export
    (the window grid depends on it), the batch (objects) is dynamic.

    Args:
        perceiver: the ``SpatialPerceiver``, in eval mode.
    """

    def __init__(self, perceiver: nn.Module) -> None:
        super().__init__()
        self.perceiver = perceiver

    def forward(self, memory: Tensor,
                memory_pos: Tensor) -> Tuple[Tensor, Tensor]:
        """Compress ``[B, C, H, W]`` memories with their positional encoding
        ``[B, dim, H, W]`` into ``([B, K, C'], [B, K, C'])``."""
        return self.perceiver(memory, memory_pos)
