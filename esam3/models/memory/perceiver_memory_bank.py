# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Memory bank storing Perceiver-compressed memory frames (EdgeTAM)."""
from typing import Optional, Tuple, Union

from torch import Tensor, nn

from esam3.registry import MODELS
from .base_memory_bank import BaseMemoryBank


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

    def encode(self, memory_feats: Tensor,
               memory_pos: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Compress ``[B*, C, H, W]`` into ``([B*, K, C], [B*, K, C])``."""
        return self.perceiver(memory_feats, memory_pos)
