# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Alignment head: student multi-scale features -> the SAM3 trunk map."""
from typing import Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmengine.model import BaseModule
from timm.layers import LayerNorm2d
from torch import Tensor, nn

from esam3.registry import MODELS

Size = Union[int, Sequence[int]]


def _pair(size: Optional[Size]) -> Optional[Tuple[int, int]]:
    if size is None:
        return None
    if isinstance(size, int):
        return (size, size)
    h, w = size
    return (int(h), int(w))


@MODELS.register_module()
class Sam3AlignHead(BaseModule):
    """Map student backbone features onto the SAM3 ViT trunk output.

    Trunk mode (the only mode; the FPN-level student is
    :class:`~esam3.models.necks.Sam3LightFPN`) imitates the trunk so that
    SAM3's own FPN neck and heads run unchanged: the maps at
    ``fuse_strides`` (16 and 32) are projected by 1x1 convs to
    ``embed_dims``, the coarser ones bilinearly upsampled onto the finest and
    summed, the sum is resized to ``out_size`` (S/14, e.g. 72x72 at 1008 px)
    and refined by Conv3x3 - LayerNorm2d - GELU - Conv1x1 to
    ``out_channels`` (1024 for SAM3). Resizing before the refinement lets the
    3x3 conv work on the exact target grid (1008 px: 63 -> 72 is not an
    integer factor).

    Args:
        in_channels: channels of each input map (from
            ``backbone.out_channels``; :class:`StudentTrunk` fills it in).
        in_strides: stride of each input map (``backbone.out_strides``).
        mode: ``'trunk'`` (kept for configs that name it).
        out_channels: trunk channels (``None`` means 1024, SAM3's).
        out_size: trunk grid ``(h, w)`` (or int). ``None``: given at call
            time, else the stride-16 map's size is kept.
        embed_dims: width of the fused trunk-mode map.
        fuse_strides: input strides fused in trunk mode.
        patch_size: trunk mode only: also embed the input image with a
            ``patch_size`` x ``patch_size`` stride-``patch_size`` conv (a ViT
            patch embedding, on the teacher's token grid) and add it to the
            fused map before the refinement. Backbone maps at strides 8/16/32
            cannot follow the phase of a 14-pixel token grid; this branch
            can. ``None`` (default): no branch. :class:`StudentTrunk` passes
            the image when it is set.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 in_strides: Sequence[int] = (4, 8, 16, 32),
                 mode: str = 'trunk',
                 out_channels: Optional[int] = 1024,
                 out_size: Optional[Size] = None,
                 embed_dims: int = 256,
                 fuse_strides: Sequence[int] = (16, 32),
                 patch_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mode == 'fpn':
            raise ValueError("Sam3AlignHead(mode='fpn') is now its own "
                             "module: use dict(type='Sam3LightFPN')")
        if mode != 'trunk':
            raise ValueError(f"mode must be 'trunk', got {mode!r}")
        if in_channels is None or len(in_channels) != len(in_strides):
            raise ValueError(f'in_channels {in_channels} must give one entry '
                             f'per input stride {list(in_strides)}')
        self.mode = mode
        self.in_channels = list(in_channels)
        self.in_strides = list(in_strides)
        self.out_channels = 1024 if out_channels is None else out_channels
        self.out_size = _pair(out_size)
        self.patch_size = patch_size
        missing = [s for s in fuse_strides if s not in self.in_strides]
        if missing:
            raise ValueError(f'fuse_strides {missing} not among the '
                             f'backbone strides {self.in_strides}')
        self.fuse_index = [self.in_strides.index(s) for s in fuse_strides]
        self.lateral = nn.ModuleList(
            nn.Conv2d(self.in_channels[i], embed_dims, 1)
            for i in self.fuse_index)
        self.patch_embed = nn.Conv2d(
            3, embed_dims, patch_size, stride=patch_size) \
            if patch_size else None
        self.refine = nn.Sequential(
            nn.Conv2d(embed_dims, embed_dims, 3, padding=1, bias=False),
            LayerNorm2d(embed_dims), nn.GELU(),
            nn.Conv2d(embed_dims, self.out_channels, 1))

    def forward(self,
                feats: Sequence[Tensor],
                out_size: Optional[Size] = None,
                pixel_values: Optional[Tensor] = None) -> Tensor:
        """Align backbone features.

        Args:
            feats: backbone maps, one per ``in_strides`` entry.
            out_size: trunk grid for this call; overrides the configured
                ``out_size`` only when that one is ``None``.
            pixel_values: the normalised input images; required when the
                head has a patch-embedding branch (``patch_size``).

        Returns:
            Tensor: ``[B, out_channels, h, w]``.
        """
        if len(feats) != len(self.in_channels):
            raise ValueError(f'expected {len(self.in_channels)} feature maps, '
                             f'got {len(feats)}')
        size = self.out_size or _pair(out_size)
        return self._forward_trunk(feats, size, pixel_values)

    def _forward_trunk(self,
                       feats: Sequence[Tensor],
                       size: Optional[Tuple[int, int]],
                       pixel_values: Optional[Tensor] = None) -> Tensor:
        maps = [
            conv(feats[i]) for conv, i in zip(self.lateral, self.fuse_index)
        ]
        base = max(maps, key=lambda m: m.shape[-1] * m.shape[-2])
        fused = sum(_resize(m, base.shape[-2:]) for m in maps)
        if size is not None:
            fused = _resize(fused, size)
        if self.patch_embed is not None:
            if pixel_values is None:
                raise ValueError('this alignment head has a patch-embedding '
                                 'branch: pass pixel_values')
            fused = fused + _resize(
                self.patch_embed(pixel_values), fused.shape[-2:])
        return self.refine(fused)


def _resize(x: Tensor, size: Sequence[int]) -> Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(
        x, size=tuple(size), mode='bilinear', align_corners=False)
