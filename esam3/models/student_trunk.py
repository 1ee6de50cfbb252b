# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Student encoder: timm backbone + neck -> SAM3 trunk map or FPN levels."""
import copy
from typing import Optional, Tuple, Union

from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from esam3.registry import MODELS
from .necks.neck_levels import NeckLevels


@MODELS.register_module()
class StudentTrunk(BaseModule):
    """A light encoder standing in for the SAM3 ViT trunk (and, with a light
    neck, for SAM3's FPN necks too).

    Builds ``backbone`` (e.g. :class:`TimmBackbone`) and then ``neck``
    with ``in_channels`` / ``in_strides`` taken from the built backbone, so
    a student is described by its backbone config alone. Two kinds of neck:

    - :class:`~esam3.models.necks.Sam3LightFPN` (default in the configs):
      the student produces the FPN levels SAM3's heads read; the forward
      returns :class:`~esam3.models.necks.NeckLevels`, which computes each
      SAM3 neck's levels only when a head asks for them;
    - :class:`~esam3.models.necks.Sam3AlignHead` (trunk mode): the student
      imitates the ViT trunk map and SAM3's own necks run on it.

    Args:
        backbone: backbone config; the built module must expose
            ``out_channels`` and ``out_strides``.
        neck: neck config (``in_channels`` / ``in_strides`` are filled in).
        patch_size: SAM3 patch size; when the head has no fixed
            ``out_size`` the trunk grid is ``input size // patch_size``.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 patch_size: int = 14,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        neck = copy.deepcopy(neck)
        for key, value in (('in_channels', self.backbone.out_channels),
                           ('in_strides', self.backbone.out_strides)):
            given = neck.get(key)
            if given is not None and list(given) != list(value):
                print_log(
                    f'StudentTrunk: neck {key}={list(given)} replaced '
                    f'by the backbone value {list(value)}',
                    logger='current')
            neck[key] = list(value)
        self.neck = MODELS.build(neck)
        self.patch_size = patch_size

    @property
    def makes_levels(self) -> bool:
        """True when the neck makes SAM3's FPN levels (light neck)."""
        return hasattr(self.neck, 'level_shapes')

    def grid(self, input_size: Tuple[int, int]) -> Tuple[int, int]:
        """Trunk grid for an input of ``(h, w)`` pixels."""
        return (int(input_size[0]) // self.patch_size,
                int(input_size[1]) // self.patch_size)

    def forward(self, pixel_values: Tensor) -> Union[Tensor, NeckLevels]:
        """Encode images.

        Args:
            pixel_values: normalised images ``[B, 3, S, S]``.

        Returns:
            Tensor | NeckLevels: trunk map ``[B, C, S/14, S/14]`` (trunk
            mode) or the lazily computed FPN levels (light neck).
        """
        grid = self.grid(pixel_values.shape[-2:])
        feats = self.backbone(pixel_values)
        if self.makes_levels:
            patch = pixel_values if getattr(self.neck, 'patch_size',
                                            None) else None
            return NeckLevels(feats, self.neck, grid, patch)
        if getattr(self.neck, 'patch_size', None):
            return self.neck(feats, out_size=grid, pixel_values=pixel_values)
        return self.neck(feats, out_size=grid)
