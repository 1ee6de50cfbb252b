# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Generic SAM-style memory attention (current frame <- memory bank)."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from esam3.registry import MODELS
from .memory_attention_layer import MemoryAttentionLayer


@MODELS.register_module()
class MemoryAttention(BaseModule):
    """Stack of :class:`MemoryAttentionLayer` s + final LayerNorm.

    Conditions the current frame's tokens on the tokens gathered from a
    memory bank (dense or Perceiver). Positional information: the current
    frame's encoding is added once at the input, scaled by
    ``query_pos_scale`` (SAM2/SAM3 use 0.1); the memory encoding is added to
    the keys of every cross-attention. Unlike SAM3 there is no RoPE, so the
    module works with any number / layout of memory tokens (Perceiver
    latents included).

    Args:
        d_model: current-frame token width (SAM3: 256).
        kv_dim: memory token width (SAM3: 64).
        num_layers: layers (SAM3 uses 4; the benchmark uses 2).
        num_heads: attention heads.
        ffn_dim: FFN hidden width.
        dropout: residual / FFN dropout.
        query_pos_scale: scale of the query positional encoding.
        with_cp: gradient checkpointing of every layer.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 d_model: int = 256,
                 kv_dim: int = 64,
                 num_layers: int = 2,
                 num_heads: int = 1,
                 ffn_dim: int = 2048,
                 dropout: float = 0.1,
                 query_pos_scale: float = 0.1,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.query_pos_scale = query_pos_scale
        self.with_cp = with_cp
        self.layers = nn.ModuleList([
            MemoryAttentionLayer(d_model, kv_dim, num_heads, ffn_dim, dropout)
            for _ in range(num_layers)
        ])
        self.norm = nn.LayerNorm(d_model)

    def forward(self,
                queries: Tensor,
                memory: Tensor,
                query_pos: Optional[Tensor] = None,
                memory_pos: Optional[Tensor] = None,
                memory_mask: Optional[Tensor] = None) -> Tensor:
        """Memory-conditioned current-frame tokens.

        Args:
            queries: ``[B*, Nq, d_model]`` (e.g. 72x72 = 5184 tokens).
            memory: ``[B*, Nk, kv_dim]`` from ``MemoryBank.gather``.
            query_pos: optional ``[B* or 1, Nq, d_model]``.
            memory_pos: optional ``[B*, Nk, kv_dim]``.
            memory_mask: optional bool ``[B*, Nk]``, True = valid.

        Returns:
            Tensor ``[B*, Nq, d_model]``.
        """
        x = queries
        if query_pos is not None:
            x = x + self.query_pos_scale * query_pos
        for layer in self.layers:
            if self.with_cp and torch.is_grad_enabled():
                x = checkpoint(
                    layer,
                    x,
                    memory,
                    memory_pos,
                    memory_mask,
                    use_reentrant=False)
            else:
                x = layer(x, memory, memory_pos, memory_mask)
        return self.norm(x)
