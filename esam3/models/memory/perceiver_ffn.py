# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Pre-LayerNorm feed-forward block of the Spatial Perceiver."""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor, nn

from esam3.registry import MODELS


@MODELS.register_module()
class PerceiverFFN(BaseModule):
    """``LN -> Linear(dim, dim*ff_mult) -> GELU -> Dropout -> Linear``.

    The residual connection is left to the caller.

    Args:
        dim: token width.
        ff_mult: hidden expansion factor.
        dropout: dropout on the hidden activations.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 dim: int,
                 ff_mult: int = 4,
                 dropout: float = 0.,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, dim * ff_mult)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(dim * ff_mult, dim)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``[..., dim]`` to ``[..., dim]`` (no residual)."""
        return self.fc2(self.drop(self.act(self.fc1(self.norm(x)))))
