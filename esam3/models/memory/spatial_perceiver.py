# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""2D Spatial Perceiver (EdgeTAM-style) compressing one memory frame."""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from esam3.registry import MODELS
from .perceiver_layer import PerceiverLayer
from .position_encoding import sine_position_encoding_2d
from .window_partition import window_partition


@MODELS.register_module()
class SpatialPerceiver(BaseModule):
    """Compress a memory feature map ``[B, C, H, W]`` into ``K`` latents.

    ``K = num_global_latents + rows * cols`` where ``(rows, cols) =
    grid_size``:

    * global latents (learned) cross-attend to the whole flattened map; the
      map's positional encoding is added to the projected keys and values.
      Their output positional encoding is zero.
    * 2D latents: the map is split into ``rows x cols`` non-overlapping
      windows (near-equal when the size does not divide); latent ``w``
      cross-attends only to the tokens of window ``w`` (no positional
      encoding inside the window). All windows of all samples run as one
      batched attention. As in EdgeTAM each window holds one latent, so the
      self-attention step of the 2D path never mixes windows and latent
      ``w`` depends only on window ``w``. Their output positional encoding
      is the 2D sine encoding of the window grid.

    Both paths share the same ``depth`` :class:`PerceiverLayer` s and the
    final LayerNorm; the output is ``[global latents, 2D latents]`` in
    row-major window order. The positional encoding is returned separately
    (SAM-style memory attention adds it to the memory keys).

    Args:
        dim: Perceiver width (64 = SAM memory width).
        in_channels: channels of the input map (default ``dim``); a linear
            projection is used when they differ.
        out_channels: output width (default ``dim``); a linear projection
            is used when it differs.
        num_global_latents: number of global latents (0 disables).
        grid_size: ``(rows, cols)`` or an int for a square grid of windows,
            one 2D latent each (0 / None disables).
        depth: number of Perceiver layers.
        num_heads: attention heads.
        ff_mult: FFN expansion factor.
        dropout: residual / FFN dropout.
        add_pos_to_latents: also add the output positional encoding to the
            2D latents themselves (EdgeTAM does not).
        with_cp: gradient checkpointing of every layer call.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 dim: int = 64,
                 in_channels: Optional[int] = None,
                 out_channels: Optional[int] = None,
                 num_global_latents: int = 64,
                 grid_size: Union[int, Sequence[int], None] = (8, 8),
                 depth: int = 2,
                 num_heads: int = 1,
                 ff_mult: int = 4,
                 dropout: float = 0.1,
                 add_pos_to_latents: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(grid_size, int):
            grid_size = (grid_size, grid_size)
        self.grid_size = tuple(
            grid_size) if grid_size and all(grid_size) else (0, 0)
        self.num_global_latents = num_global_latents
        self.num_2d_latents = self.grid_size[0] * self.grid_size[1]
        if self.num_latents == 0:
            raise ValueError('SpatialPerceiver needs at least one latent')
        self.dim = dim
        self.in_channels = in_channels or dim
        self.out_channels = out_channels or dim
        self.add_pos_to_latents = add_pos_to_latents
        self.with_cp = with_cp

        self.input_proj = nn.Linear(self.in_channels, dim) \
            if self.in_channels != dim else nn.Identity()
        if num_global_latents:
            self.global_latents = nn.Parameter(
                torch.randn(num_global_latents, dim) * 0.02)
        if self.num_2d_latents:
            self.latents_2d = nn.Parameter(
                torch.randn(self.num_2d_latents, dim) * 0.02)
        self.layers = nn.ModuleList([
            PerceiverLayer(dim, num_heads, ff_mult, dropout)
            for _ in range(depth)
        ])
        self.norm = nn.LayerNorm(dim)
        self.output_proj = nn.Linear(dim, self.out_channels) \
            if self.out_channels != dim else nn.Identity()

    @property
    def num_latents(self) -> int:
        """Total latents ``K`` per memory frame."""
        return self.num_global_latents + self.num_2d_latents

    def _layer(self, layer: nn.Module, *args) -> Tensor:
        if self.with_cp and torch.is_grad_enabled():
            return checkpoint(layer, *args, use_reentrant=False)
        return layer(*args)

    def forward_global(self, tokens: Tensor, pos: Tensor) -> Tensor:
        """Global latents attend to all ``[B, N, dim]`` tokens (+ pos)."""
        # repeat, not expand: a view of a parameter made under no_grad
        # still claims requires_grad, which trips autograd-based tooling
        latents = self.global_latents.unsqueeze(0).repeat(
            tokens.shape[0], 1, 1)
        for layer in self.layers:
            latents = self._layer(layer, latents, tokens, pos)
        return latents

    def forward_2d(self, tokens: Tensor, height: int, width: int) -> Tensor:
        """2D latents, each attending to its own window.

        Args:
            tokens: ``[B, H*W, dim]`` in row-major order.
            height: map height ``H``.
            width: map width ``W``.

        Returns:
            Tensor ``[B, rows*cols, dim]``.
        """
        b = tokens.shape[0]
        windows, mask = window_partition(
            tokens.reshape(b, height, width, self.dim), self.grid_size)
        latents = self.latents_2d.repeat(b, 1).unsqueeze(1)  # [B*nW, 1, C]
        for layer in self.layers:
            latents = self._layer(layer, latents, windows, None, mask)
        return latents.reshape(b, self.num_2d_latents, self.dim)

    def forward(self,
                feats: Tensor,
                pos: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Compress one memory frame per batch row.

        Args:
            feats: memory features ``[B, in_channels, H, W]`` (objects folded
                into ``B``).
            pos: positional encoding ``[B or 1, dim, H, W]`` for the global
                path; a normalised 2D sine encoding when None.

        Returns:
            ``(latents, latent_pos)``, both ``[B, K, out_channels]``.
        """
        b, _, h, w = feats.shape
        tokens = self.input_proj(feats.flatten(2).transpose(1, 2))
        outputs = []
        if self.num_global_latents:
            if pos is None:
                pos = sine_position_encoding_2d(
                    h, w, self.dim, device=feats.device, dtype=tokens.dtype)
                pos = pos.unsqueeze(0)
            if pos.shape[1] != self.dim:
                raise ValueError(f'pos has {pos.shape[1]} channels, the '
                                 f'Perceiver width is {self.dim}')
            outputs.append(
                self.forward_global(tokens,
                                    pos.flatten(2).transpose(1, 2)))
        if self.num_2d_latents:
            outputs.append(self.forward_2d(tokens, h, w))
        latents = self.output_proj(self.norm(torch.cat(outputs, dim=1)))

        latent_pos = latents.new_zeros(b, self.num_latents, self.out_channels)
        if self.num_2d_latents:
            rows, cols = self.grid_size
            pos_2d = sine_position_encoding_2d(
                rows,
                cols,
                self.out_channels,
                device=feats.device,
                dtype=latents.dtype).flatten(1).transpose(0, 1)
            latent_pos[:, self.num_global_latents:] = pos_2d
            if self.add_pos_to_latents:
                latents = torch.cat([
                    latents[:, :self.num_global_latents],
                    latents[:, self.num_global_latents:] + pos_2d
                ],
                                    dim=1)
        return latents, latent_pos
