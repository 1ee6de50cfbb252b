# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Light FPN: student backbone maps -> the FPN levels SAM3's heads read."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from timm.layers import LayerNorm2d
from torch import Tensor, nn

from esam3.registry import MODELS
from .sam3_align_head import Size, _pair, _resize

LevelShapes = Dict[str, List[Tuple[int, int, int]]]


@MODELS.register_module()
class Sam3LightFPN(BaseModule):
    """Replaces SAM3's ViT trunk AND its FPN necks (EfficientSAM3's 256-channel
    alignment).

    SAM3 computes, from its trunk map at the token grid ``g`` (72 at
    1008 px), two FPN necks (tracker and detector) of four levels each
    (``4g, 2g, g, g/2``); the heads read only the first three (transformers'
    ``Sam3Model`` and the trackers use ``fpn[:-1]``). This neck makes
    exactly those levels from the student backbone, cheaply:

    - a shared top-down pass: 1x1 laterals of every backbone map to
      ``embed_dims`` channels, coarse-to-fine upsample-and-add (standard
      FPN, as torchvision / mmdet build it; written here because it must
      also feed levels at sizes that are not the backbone's strides);
    - optionally a ViT patch embedding (``patch_size``) of the image on the
      token grid, added to every level (backbone strides 4/8/16/32 cannot
      follow the phase of 14-pixel tokens; see ``Sam3AlignHead``);
    - per SAM3 neck (``branches``: ``'tracker'``, ``'detector'``, and
      ``'video'`` for a video tracker with a neck of its own, e.g. the tiny
      test models; the real SAM3 video tracker shares the tracker neck) and
      level: resize of the matching
      top-down map onto the level's size, then depthwise 3x3 - LayerNorm2d
      - GELU - 1x1 to ``out_channels``, times a per-level output scale (a
      buffer, 1 until :meth:`calibrate` matches it to the teacher's level
      magnitude at the start of Stage 1). Branches run only when asked for
      (:meth:`branch`; :class:`NeckLevels` does it lazily).

    Args:
        in_channels (Sequence[int]): channels of each backbone map (filled
            in by :class:`~esam3.models.StudentTrunk`).
        in_strides (Sequence[int]): stride of each backbone map.
        branches (Sequence[str]): SAM3 necks replaced, among
            ``'tracker'``, ``'detector'`` and ``'video'``. Defaults to
            tracker and detector.
        out_channels (int | dict, optional): channels of every level
            (SAM3's ``fpn_hidden_size``: 256), or ``{branch: channels}``.
            ``None`` means 256.
        out_size (Size, optional): the trunk grid ``g`` (72 at 1008 px);
            ``None``: taken from the input size at call time.
        level_scales (Sequence[float]): level sizes relative to ``g``,
            finest first. Defaults to ``(4, 2, 1)``, the levels SAM3's heads
            read.
        level_inputs (Sequence[int], optional): top-down map (backbone
            input index) feeding each level. Defaults to ``0, 1, 2, ...``
            (strides 4/8/16 for the 288/144/72 levels at 1008 px).
        out_sizes (Sequence[Size], optional): explicit level sizes
            overriding ``level_scales`` (fixed-size deployment).
        embed_dims (int): width of the top-down pass. Defaults to 128.
        patch_size (int, optional): adds a patch-embedding branch on the
            token grid. Defaults to None (no branch).
        init_cfg (dict, optional): mmengine init config.
    """

    BRANCHES = ('tracker', 'detector', 'video')

    def __init__(self,
                 in_channels: Sequence[int],
                 in_strides: Sequence[int] = (4, 8, 16, 32),
                 branches: Sequence[str] = ('tracker', 'detector'),
                 out_channels: Union[int, Dict[str, int], None] = 256,
                 out_size: Optional[Size] = None,
                 level_scales: Sequence[float] = (4.0, 2.0, 1.0),
                 level_inputs: Optional[Sequence[int]] = None,
                 out_sizes: Optional[Sequence[Size]] = None,
                 embed_dims: int = 128,
                 patch_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels is None or len(in_channels) != len(in_strides):
            raise ValueError(f'in_channels {in_channels} must give one entry '
                             f'per input stride {list(in_strides)}')
        unknown = [b for b in branches if b not in self.BRANCHES]
        if unknown or not branches or len(set(branches)) != len(branches):
            raise ValueError('branches must be distinct names among '
                             f'{list(self.BRANCHES)}, got {list(branches)}')
        self.in_channels = list(in_channels)
        self.in_strides = list(in_strides)
        self.branches = tuple(branches)
        if out_channels is None:
            out_channels = 256
        if isinstance(out_channels, int):
            out_channels = {name: out_channels for name in self.branches}
        missing = [b for b in self.branches if b not in out_channels]
        if missing:
            raise ValueError(f'out_channels {dict(out_channels)} gives no '
                             f'width for the branches {missing}')
        self.out_channels = {b: int(out_channels[b]) for b in self.branches}
        self.out_size = _pair(out_size)
        self.level_scales = [float(s) for s in level_scales]
        n = len(self.level_scales)
        self.level_inputs = list(range(n)) if level_inputs is None \
            else [int(i) for i in level_inputs]
        if len(self.level_inputs) != n or not all(
                0 <= i < len(self.in_channels) for i in self.level_inputs):
            raise ValueError(f'level_inputs {self.level_inputs} must give, '
                             f'for each of the {n} levels, a backbone map '
                             f'index < {len(self.in_channels)}')
        if out_sizes is not None and len(out_sizes) != n:
            raise ValueError(f'out_sizes needs one size per level ({n}), got '
                             f'{list(out_sizes)}')
        self.out_sizes = None if out_sizes is None else [
            _pair(s) for s in out_sizes
        ]
        self.patch_size = patch_size
        self.lateral = nn.ModuleList(
            nn.Conv2d(c, embed_dims, 1) for c in self.in_channels)
        self.patch_embed = nn.Conv2d(3, embed_dims, patch_size,
                                     stride=patch_size) if patch_size \
            else None
        self.outputs = nn.ModuleDict({
            name:
            nn.ModuleList(
                nn.Sequential(
                    nn.Conv2d(
                        embed_dims,
                        embed_dims,
                        3,
                        padding=1,
                        groups=embed_dims,
                        bias=False), LayerNorm2d(embed_dims), nn.GELU(),
                    nn.Conv2d(embed_dims, self.out_channels[name], 1))
                for _ in range(n))
            for name in self.branches
        })
        # per-branch, per-level output scale (see calibrate); saved with
        # the weights so that every later stage uses the calibrated scale
        self.register_buffer('level_scale', torch.ones(len(self.branches), n))
        self.register_buffer('calibrated', torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def calibrate(self, factors: Dict[str, Sequence[float]]) -> None:
        """Multiply the output scales by ``{branch: [factor per level]}`` and
        mark the neck calibrated (done once, by the Stage 1 distiller:

        a SAM3 neck's levels can be orders of magnitude apart, e.g. the tiny
        random teacher's finest level has a variance of 1e-8).
        """
        for name, f in factors.items():
            i = self.branches.index(name)
            self.level_scale[i] *= torch.as_tensor(
                list(f),
                dtype=self.level_scale.dtype,
                device=self.level_scale.device)
        self.calibrated.fill_(True)

    # ------------------------------------------------------------ shapes
    def level_sizes(self, grid: Tuple[int, int]) -> List[Tuple[int, int]]:
        """Level sizes ``(h, w)`` for the trunk grid ``grid``."""
        if self.out_sizes is not None:
            return list(self.out_sizes)
        grid = self.out_size or grid
        return [(int(grid[0] * s), int(grid[1] * s))
                for s in self.level_scales]

    def level_shapes(self, grid: Tuple[int, int]) -> LevelShapes:
        """``{branch: [(C, h, w) per level]}`` this neck makes at ``grid``,
        without running it (build-time checks)."""
        sizes = self.level_sizes(grid)
        return {
            name: [(self.out_channels[name], h, w) for h, w in sizes]
            for name in self.branches
        }

    # ----------------------------------------------------------- forward
    def top_down(self,
                 feats: Sequence[Tensor],
                 pixel_values: Optional[Tensor] = None) -> List[Tensor]:
        """Shared part: the top-down maps (one per backbone map), plus the
        patch embedding as a last entry when the neck has that branch."""
        if len(feats) != len(self.in_channels):
            raise ValueError(f'expected {len(self.in_channels)} feature maps, '
                             f'got {len(feats)}')
        maps = [conv(f) for conv, f in zip(self.lateral, feats)]
        for i in range(len(maps) - 1, 0, -1):
            maps[i -
                 1] = maps[i - 1] + _resize(maps[i], maps[i - 1].shape[-2:])
        if self.patch_embed is not None:
            if pixel_values is None:
                raise ValueError('this light FPN has a patch-embedding '
                                 'branch: pass pixel_values')
            maps.append(self.patch_embed(pixel_values))
        return maps

    def level_maps(self, top_down: Sequence[Tensor],
                   grid: Tuple[int, int]) -> List[Tensor]:
        """What every branch convolves at each level: the matching top-down
        map resized onto the level (plus the resized patch embedding).

        The same for all branches, so :class:`NeckLevels` computes it once
        per batch (when each branch redid the bilinear resizes they were
        about a quarter of a tiny Stage 1 step).
        """
        patch = top_down[-1] if self.patch_embed is not None else None
        inputs = []
        for idx, size in zip(self.level_inputs, self.level_sizes(grid)):
            x = _resize(top_down[idx], size)
            if patch is not None:
                x = x + _resize(patch, size)
            inputs.append(x)
        return inputs

    def branch(self,
               top_down: Sequence[Tensor],
               name: str,
               grid: Tuple[int, int],
               level_maps: Optional[Sequence[Tensor]] = None) -> List[Tensor]:
        """The levels of SAM3 neck ``name`` from :meth:`top_down` (or from
        :meth:`level_maps` of it, when given)."""
        if level_maps is None:
            level_maps = self.level_maps(top_down, grid)
        scale = self.level_scale[self.branches.index(name)]
        return [
            conv(x) * scale[i]
            for i, (conv, x) in enumerate(zip(self.outputs[name], level_maps))
        ]

    def forward(
            self,
            feats: Sequence[Tensor],
            out_size: Optional[Size] = None,
            pixel_values: Optional[Tensor] = None,
            branches: Optional[Sequence[str]] = None
    ) -> Dict[str, List[Tensor]]:
        """Eager form (export, FLOP counting): ``{branch: levels}`` for
        ``branches`` (default: all).

        ``out_size`` is the trunk grid of this
        input when the neck has no fixed ``out_size``.
        """
        grid = self.out_size or _pair(out_size)
        if grid is None:
            raise ValueError('Sam3LightFPN needs the trunk grid: set '
                             'out_size or pass it')
        td = self.top_down(feats, pixel_values)
        shared = self.level_maps(td, grid)
        return {
            name: self.branch(td, name, grid, shared)
            for name in (branches or self.branches)
        }
