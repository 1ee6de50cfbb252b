# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Plug-in example: a lighter alignment head registered from outside esam3.

It uses only the stride-16 backbone map (no stride-32 fusion) and a
depth-wise separable refinement, for the smallest students. Nothing in
esam3 is edited: the config loads this module with ``custom_imports``.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from esam3.registry import MODELS


@MODELS.register_module()
class LightAlignHead(BaseModule):
    """Stride-16 map -> 1x1 proj -> DW 3x3 + GELU -> 1x1 -> trunk grid.

    Args:
        in_channels: channels of every backbone level (from StudentTrunk).
        in_strides: strides of every backbone level (from StudentTrunk).
        out_channels: SAM3 trunk channels (1024; 32 for the tiny teacher).
        out_size: trunk grid; None -> given at call time.
        embed_dims: width of the hidden map.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 in_strides: Sequence[int],
                 out_channels: int,
                 out_size: Optional[Union[int, Tuple[int, int]]] = None,
                 embed_dims: int = 128,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if 16 not in list(in_strides):
            raise ValueError(f'LightAlignHead needs a stride-16 level, got '
                             f'strides {list(in_strides)}')
        self.level = list(in_strides).index(16)
        self.proj = nn.Conv2d(in_channels[self.level], embed_dims, 1)
        self.dw = nn.Conv2d(
            embed_dims, embed_dims, 3, padding=1, groups=embed_dims)
        self.act = nn.GELU()
        self.out = nn.Conv2d(embed_dims, out_channels, 1)
        self.out_size = out_size

    def forward(self,
                feats: List[Tensor],
                out_size: Optional[Tuple[int, int]] = None) -> Tensor:
        size = out_size or self.out_size
        if isinstance(size, int):
            size = (size, size)
        x = self.proj(feats[self.level])
        x = self.out(self.act(self.dw(x)))
        return F.interpolate(
            x, size=size, mode='bilinear', align_corners=False)
