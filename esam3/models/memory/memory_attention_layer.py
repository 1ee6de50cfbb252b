# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""One SAM-style memory-attention layer."""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor, nn

from esam3.registry import MODELS
from .sdp_attention import SDPAttention


@MODELS.register_module()
class MemoryAttentionLayer(BaseModule):
    """Pre-LN self-attention, cross-attention to memory, FFN (all residual).

    Keys of the cross-attention are ``memory + memory_pos``, values are
    ``memory`` (SAM2/SAM3 convention); keys/values have width ``kv_dim``
    and are projected to ``d_model``.

    Args:
        d_model: query (current-frame token) width.
        kv_dim: memory token width.
        num_heads: attention heads.
        ffn_dim: FFN hidden width.
        dropout: residual / FFN dropout.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 d_model: int = 256,
                 kv_dim: int = 64,
                 num_heads: int = 1,
                 ffn_dim: int = 2048,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.norm1 = nn.LayerNorm(d_model)
        self.self_attn = SDPAttention(d_model, num_heads)
        self.norm2 = nn.LayerNorm(d_model)
        self.cross_attn = SDPAttention(d_model, num_heads, kv_dim=kv_dim)
        self.norm3 = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(
            nn.Linear(d_model, ffn_dim), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(ffn_dim, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self,
                queries: Tensor,
                memory: Tensor,
                memory_pos: Optional[Tensor] = None,
                memory_mask: Optional[Tensor] = None) -> Tensor:
        """Update ``queries [B, Nq, d_model]`` from ``memory [B, Nk, kv_dim]``.

        Args:
            queries: current-frame tokens.
            memory: memory tokens.
            memory_pos: ``[B, Nk, kv_dim]`` added to the memory keys.
            memory_mask: bool ``[B, Nk]``, True for valid memory tokens.

        Returns:
            Tensor ``[B, Nq, d_model]``.
        """
        q = self.norm1(queries)
        queries = queries + self.drop(self.self_attn(q, q, q))
        q = self.norm2(queries)
        keys = memory if memory_pos is None else memory + memory_pos
        queries = queries + self.drop(
            self.cross_attn(q, keys, memory, key_mask=memory_mask))
        return queries + self.drop(self.ffn(self.norm3(queries)))
