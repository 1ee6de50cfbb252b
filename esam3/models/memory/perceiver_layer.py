# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""One Perceiver layer: latents cross-attend to inputs, then self-attend."""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor, nn

from esam3.registry import MODELS
from .perceiver_ffn import PerceiverFFN
from .sdp_attention import SDPAttention


@MODELS.register_module()
class PerceiverLayer(BaseModule):
    """``[pre-LN cross-attn + FFN, pre-LN self-attn + FFN]``, all residual.

    Args:
        dim: latent and input width.
        num_heads: attention heads.
        ff_mult: FFN expansion factor.
        dropout: dropout on every residual branch and the FFN hidden layer.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 dim: int = 64,
                 num_heads: int = 1,
                 ff_mult: int = 4,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.norm_latents = nn.LayerNorm(dim)
        self.norm_inputs = nn.LayerNorm(dim)
        self.cross_attn = SDPAttention(dim, num_heads)
        self.cross_ffn = PerceiverFFN(dim, ff_mult, dropout)
        self.norm_self = nn.LayerNorm(dim)
        self.self_attn = SDPAttention(dim, num_heads)
        self.self_ffn = PerceiverFFN(dim, ff_mult, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self,
                latents: Tensor,
                inputs: Tensor,
                input_pos: Optional[Tensor] = None,
                input_mask: Optional[Tensor] = None) -> Tensor:
        """Update latents from inputs.

        Args:
            latents: ``[B, L, dim]``.
            inputs: ``[B, N, dim]``.
            input_pos: optional ``[B or 1, N, dim]`` added to the projected
                keys and values of the cross-attention.
            input_mask: optional bool ``[B, N]``, True for valid inputs.

        Returns:
            Tensor ``[B, L, dim]``.
        """
        q = self.norm_latents(latents)
        kv = self.norm_inputs(inputs)
        latents = latents + self.drop(
            self.cross_attn(q, kv, kv, kv_pos=input_pos, key_mask=input_mask))
        latents = latents + self.drop(self.cross_ffn(latents))
        q = self.norm_self(latents)
        latents = latents + self.drop(self.self_attn(q, q, q))
        latents = latents + self.drop(self.self_ffn(latents))
        return latents
