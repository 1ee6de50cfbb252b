# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Multi-head attention on ``F.scaled_dot_product_attention``."""
from typing import Optional

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from esam3.registry import MODELS


@MODELS.register_module()
class SDPAttention(BaseModule):
    """Batch-first multi-head attention with optional projected-space pos.

    Queries, keys and values are linearly projected to ``embed_dim``,
    split into ``num_heads`` heads and combined with
    :func:`torch.nn.functional.scaled_dot_product_attention`.

    Args:
        embed_dim: inner (and output) width.
        num_heads: attention heads; ``embed_dim`` must be divisible by it.
        q_dim: query input width (default ``embed_dim``).
        kv_dim: key/value input width (default ``embed_dim``).
        attn_drop: dropout on attention probabilities (training only).
        bias: use biases in the projections.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 embed_dim: int,
                 num_heads: int = 1,
                 q_dim: Optional[int] = None,
                 kv_dim: Optional[int] = None,
                 attn_drop: float = 0.,
                 bias: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_dim % num_heads:
            raise ValueError(f'embed_dim {embed_dim} is not divisible by '
                             f'num_heads {num_heads}')
        q_dim = q_dim or embed_dim
        kv_dim = kv_dim or embed_dim
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.q_proj = nn.Linear(q_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(kv_dim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(kv_dim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, q_dim, bias=bias)

    def _split_heads(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        return x.reshape(b, n, self.num_heads, -1).transpose(1, 2)

    def forward(self,
                query: Tensor,
                key: Tensor,
                value: Tensor,
                kv_pos: Optional[Tensor] = None,
                key_mask: Optional[Tensor] = None) -> Tensor:
        """Attend ``query`` to ``key``/``value``.

        Args:
            query: ``[B, Nq, q_dim]``.
            key: ``[B, Nk, kv_dim]``.
            value: ``[B, Nk, kv_dim]``.
            kv_pos: optional ``[B or 1, Nk, embed_dim]`` encoding added to
                the projected keys and values (EdgeTAM's Perceiver style).
            key_mask: optional bool ``[B, Nk]``, True for keys to attend.

        Returns:
            Tensor ``[B, Nq, q_dim]``.
        """
        q = self.q_proj(query)
        k = self.k_proj(key)
        v = self.v_proj(value)
        if kv_pos is not None:
            k = k + kv_pos
            v = v + kv_pos
        q, k, v = self._split_heads(q), self._split_heads(k), \
            self._split_heads(v)
        attn_mask = None
        if key_mask is not None:
            attn_mask = key_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.attn_drop if self.training else 0.)
        out = out.transpose(1, 2).reshape(query.shape[0], query.shape[1],
                                          self.embed_dim)
        return self.out_proj(out)
