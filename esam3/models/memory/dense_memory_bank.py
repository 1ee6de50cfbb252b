# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Dense SAM2/SAM3 memory bank: every memory frame keeps all H*W tokens."""
from typing import Optional, Tuple

import torch
from torch import Tensor

from esam3.registry import MODELS
from .base_memory_bank import BaseMemoryBank
from .position_encoding import sine_position_encoding_2d


@MODELS.register_module()
class DenseMemoryBank(BaseMemoryBank):
    """The SAM2/SAM3 memory bank (baseline and teacher side).

    Each frame stores its memory map flattened to ``[B*, H*W, C]`` with its
    positional encoding (a normalised 2D sine encoding when none is given).
    See :class:`BaseMemoryBank` for the frame / pointer policy and the
    arguments.
    """

    def tokens_per_frame(self, height: int, width: int) -> int:
        """``height * width`` tokens per frame."""
        return height * width

    def num_unrotated_per_frame(self) -> int:
        """Every token has a grid position."""
        return 0

    def key_positions(self, height: int, width: int) -> Tensor:
        """Token ``(r, c)`` (row-major) sits at ``(x, y) = (c, r)``."""
        ys, xs = torch.meshgrid(
            torch.arange(height), torch.arange(width), indexing='ij')
        return torch.stack([xs.flatten(), ys.flatten()], 1).float()

    def encode(self, memory_feats: Tensor,
               memory_pos: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Flatten ``[B*, C, H, W]`` (and its pos) to ``[B*, H*W, C]``."""
        _, c, h, w = memory_feats.shape
        if c != self.mem_dim:
            raise ValueError(f'memory has {c} channels, bank expects '
                             f'{self.mem_dim}')
        if memory_pos is None:
            memory_pos = sine_position_encoding_2d(
                h, w, c, device=memory_feats.device,
                dtype=memory_feats.dtype).unsqueeze(0)
        tokens = memory_feats.flatten(2).transpose(1, 2)
        pos = memory_pos.flatten(2).transpose(1, 2)
        return tokens, pos
