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
        pool_residual: start from window average pooling (not in EdgeTAM).
            Each 2D latent's query adds the mean of its window's tokens,
            and its output is that window mean (of the memory features,
            its positional encoding the window mean of ``pos``) plus the
            attention path times a per-channel gain initialised at 0; the
            global latents' outputs are scaled by the same gain. An
            untrained Perceiver is then exactly average pooling, which the
            teacher's memory attention already reads well (tiny proxy
            teacher, its own features, 2x2-token windows: mask IoU 0.88 to
            the dense-memory teacher, a fresh EdgeTAM Perceiver 0.04;
            ``tools/analysis_tools/memory_start_check.py``); training
            learns corrections. Needs ``in_channels == out_channels``.
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
                 pool_residual: bool = False,
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
        self.pool_residual = pool_residual
        self.with_cp = with_cp
        if pool_residual and self.in_channels != self.out_channels:
            raise ValueError('pool_residual needs in_channels == '
                             f'out_channels, got {self.in_channels} and '
                             f'{self.out_channels}')

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
        if pool_residual:
            self.residual_gain = nn.Parameter(torch.zeros(self.out_channels))

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

    def window_mean(self, x: Tensor) -> Tensor:
        """Mean of each window of ``x`` ``[B, C, H, W]`` -> ``[B, rows*cols,
        C]`` (row-major windows; uneven windows average their own tokens)."""
        b, c = x.shape[:2]
        windows, mask = window_partition(x.permute(0, 2, 3, 1), self.grid_size)
        if mask is None:
            means = windows.mean(1)
        else:
            m = mask.unsqueeze(-1).to(windows.dtype)
            means = (windows * m).sum(1) / m.sum(1)
        return means.reshape(b, self.num_2d_latents, c)

    def forward_2d(self,
                   tokens: Tensor,
                   height: int,
                   width: int,
                   query_offset: Optional[Tensor] = None) -> Tensor:
        """2D latents, each attending to its own window.

        Args:
            tokens: ``[B, H*W, dim]`` in row-major order.
            height: map height ``H``.
            width: map width ``W``.
            query_offset: optional ``[B, rows*cols, dim]`` added to the
                latents before the first layer (``pool_residual``: the
                window means).

        Returns:
            Tensor ``[B, rows*cols, dim]``.
        """
        b = tokens.shape[0]
        windows, mask = window_partition(
            tokens.reshape(b, height, width, self.dim), self.grid_size)
        latents = self.latents_2d.repeat(b, 1).unsqueeze(1)  # [B*nW, 1, C]
        if query_offset is not None:
            latents = latents + query_offset.reshape(-1, 1, self.dim)
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
        pooled = None
        if self.num_2d_latents:
            offset = None
            if self.pool_residual:
                pooled = self.window_mean(feats)  # [B, nW, in_channels]
                offset = self.input_proj(pooled)
            outputs.append(self.forward_2d(tokens, h, w, offset))
        latents = self.output_proj(self.norm(torch.cat(outputs, dim=1)))
        if self.pool_residual:
            latents = latents * self.residual_gain
            if pooled is not None:
                latents = torch.cat([
                    latents[:, :self.num_global_latents],
                    latents[:, self.num_global_latents:] + pooled
                ],
                                    dim=1)

        latent_pos = latents.new_zeros(b, self.num_latents, self.out_channels)
        if self.num_2d_latents:
            rows, cols = self.grid_size
            if self.pool_residual and pos is not None:
                # the window mean of the map's own encoding
                if pos.shape[1] != self.out_channels:
                    raise ValueError(f'pos has {pos.shape[1]} channels, '
                                     f'the output width is '
                                     f'{self.out_channels}')
                # (once for a pos shared by the batch: [1, nW, C])
                pos_2d = self.window_mean(pos.to(latents.dtype))
            else:
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
