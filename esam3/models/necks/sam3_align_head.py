# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Alignment head: student multi-scale features -> SAM3 trunk / FPN maps."""
from typing import List, Optional, Sequence, Tuple, Union

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
    """Map student backbone features onto what SAM3's heads expect.

    ``mode='trunk'`` (default) imitates the SAM3 ViT trunk output so that
    SAM3's own FPN neck and heads run unchanged: the maps at
    ``fuse_strides`` (16 and 32) are projected by 1x1 convs to
    ``embed_dims``, the coarser ones bilinearly upsampled onto the finest and
    summed, the sum is resized to ``out_size`` (S/14, e.g. 72x72 at 1008 px)
    and refined by Conv3x3 - LayerNorm2d - GELU - Conv1x1 to
    ``out_channels`` (1024 for SAM3). Resizing before the refinement lets the
    3x3 conv work on the exact target grid (1008 px: 63 -> 72 is not an
    integer factor).

    ``mode='fpn'`` produces the SAM3 FPN levels directly: a top-down FPN over
    all inputs (1x1 laterals to ``fpn_channels``, upsample-and-add), each
    level resized to its size (``fpn_sizes``, by default
    ``fpn_scales`` x the trunk grid: 288/144/72/36 at 1008 px) and refined
    by a depthwise 3x3 - LayerNorm2d - 1x1 block (cheap at 288x288).

    Args:
        in_channels: channels of each input map (from
            ``backbone.out_channels``; :class:`StudentTrunk` fills it in).
        in_strides: stride of each input map (``backbone.out_strides``).
        mode: ``'trunk'`` or ``'fpn'``.
        out_channels: trunk channels (``None`` means 1024, SAM3's).
        out_size: trunk grid ``(h, w)`` (or int). ``None``: given at call
            time, else the stride-16 map's size is kept.
        embed_dims: width of the fused trunk-mode map.
        fuse_strides: input strides fused in trunk mode.
        fpn_channels: channels of every FPN level (256 for SAM3).
        fpn_sizes: per-level sizes; ``None`` derives them from the trunk grid
            and ``fpn_scales``.
        fpn_scales: level size relative to the trunk grid, finest first;
            one level per input map.
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
                 fpn_channels: int = 256,
                 fpn_sizes: Optional[Sequence[Size]] = None,
                 fpn_scales: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
                 patch_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mode not in ('trunk', 'fpn'):
            raise ValueError(f"mode must be 'trunk' or 'fpn', got {mode!r}")
        if in_channels is None or len(in_channels) != len(in_strides):
            raise ValueError(f'in_channels {in_channels} must give one entry '
                             f'per input stride {list(in_strides)}')
        self.mode = mode
        self.in_channels = list(in_channels)
        self.in_strides = list(in_strides)
        self.out_channels = 1024 if out_channels is None else out_channels
        self.out_size = _pair(out_size)
        if patch_size is not None and mode != 'trunk':
            raise ValueError('patch_size (patch-embedding branch) is only '
                             "available in mode='trunk'")
        self.patch_size = patch_size
        if mode == 'trunk':
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
        else:
            if len(fpn_scales) != len(self.in_channels):
                raise ValueError('fpn mode makes one level per input map: '
                                 f'{len(fpn_scales)} fpn_scales vs '
                                 f'{len(self.in_channels)} inputs')
            if fpn_sizes is not None and len(fpn_sizes) != len(fpn_scales):
                raise ValueError('fpn_sizes needs one size per level')
            self.fpn_scales = list(fpn_scales)
            self.fpn_sizes = None if fpn_sizes is None else [
                _pair(s) for s in fpn_sizes]
            self.fpn_channels = fpn_channels
            self.lateral = nn.ModuleList(
                nn.Conv2d(c, fpn_channels, 1) for c in self.in_channels)
            self.output = nn.ModuleList(
                nn.Sequential(
                    nn.Conv2d(fpn_channels, fpn_channels, 3, padding=1,
                              groups=fpn_channels, bias=False),
                    LayerNorm2d(fpn_channels),
                    nn.Conv2d(fpn_channels, fpn_channels, 1))
                for _ in self.in_channels)

    def forward(self,
                feats: Sequence[Tensor],
                out_size: Optional[Size] = None,
                pixel_values: Optional[Tensor] = None
                ) -> Union[Tensor, List[Tensor]]:
        """Align backbone features.

        Args:
            feats: backbone maps, one per ``in_strides`` entry.
            out_size: trunk grid for this call; overrides the configured
                ``out_size`` only when that one is ``None``.
            pixel_values: the normalised input images; required when the
                head has a patch-embedding branch (``patch_size``).

        Returns:
            Tensor | list[Tensor]: trunk mode: ``[B, out_channels, h, w]``;
            fpn mode: ``len(fpn_scales)`` maps ``[B, fpn_channels, h_i,
            w_i]``, finest first.
        """
        if len(feats) != len(self.in_channels):
            raise ValueError(f'expected {len(self.in_channels)} feature maps, '
                             f'got {len(feats)}')
        size = self.out_size or _pair(out_size)
        if self.mode == 'trunk':
            return self._forward_trunk(feats, size, pixel_values)
        return self._forward_fpn(feats, size)

    def _forward_trunk(self, feats: Sequence[Tensor],
                       size: Optional[Tuple[int, int]],
                       pixel_values: Optional[Tensor] = None) -> Tensor:
        maps = [conv(feats[i]) for conv, i in zip(self.lateral,
                                                  self.fuse_index)]
        base = max(maps, key=lambda m: m.shape[-1] * m.shape[-2])
        fused = sum(_resize(m, base.shape[-2:]) for m in maps)
        if size is not None:
            fused = _resize(fused, size)
        if self.patch_embed is not None:
            if pixel_values is None:
                raise ValueError('this alignment head has a patch-embedding '
                                 'branch: pass pixel_values')
            fused = fused + _resize(self.patch_embed(pixel_values),
                                    fused.shape[-2:])
        return self.refine(fused)

    def _forward_fpn(self, feats: Sequence[Tensor],
                     size: Optional[Tuple[int, int]]) -> List[Tensor]:
        sizes = self.fpn_sizes
        if sizes is None:
            grid = size or tuple(feats[self._grid_index()].shape[-2:])
            sizes = [(int(grid[0] * s), int(grid[1] * s))
                     for s in self.fpn_scales]
        laterals = [conv(f) for conv, f in zip(self.lateral, feats)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + _resize(
                laterals[i], laterals[i - 1].shape[-2:])
        return [out(_resize(lat, s))
                for out, lat, s in zip(self.output, laterals, sizes)]

    def _grid_index(self) -> int:
        """Input whose size stands for the trunk grid (scale 1)."""
        scales = [abs(s - 1.0) for s in self.fpn_scales]
        return scales.index(min(scales))


def _resize(x: Tensor, size: Sequence[int]) -> Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear',
                         align_corners=False)
