# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Student encoder: timm backbone + alignment head -> SAM3 trunk map."""
import copy
from typing import List, Optional, Union

from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from esam3.registry import MODELS


@MODELS.register_module()
class StudentTrunk(BaseModule):
    """A light encoder standing in for the SAM3 ViT trunk.

    Builds ``backbone`` (e.g. :class:`TimmBackbone`) and then ``neck``
    (e.g. :class:`Sam3AlignHead`) with ``in_channels`` / ``in_strides`` taken
    from the built backbone, so a student is described by its backbone
    config alone.

    Args:
        backbone: backbone config; the built module must expose
            ``out_channels`` and ``out_strides``.
        neck: alignment head config (``in_channels`` / ``in_strides`` are
            filled in).
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
                print_log(f'StudentTrunk: neck {key}={list(given)} replaced '
                          f'by the backbone value {list(value)}',
                          logger='current')
            neck[key] = list(value)
        self.neck = MODELS.build(neck)
        self.patch_size = patch_size

    def forward(self, pixel_values: Tensor) -> Union[Tensor, List[Tensor]]:
        """Encode images.

        Args:
            pixel_values: normalised images ``[B, 3, S, S]``.

        Returns:
            Tensor | list[Tensor]: trunk map ``[B, C, S/14, S/14]`` (trunk
            mode) or the FPN levels (fpn mode).
        """
        h, w = pixel_values.shape[-2:]
        grid = (h // self.patch_size, w // self.patch_size)
        feats = self.backbone(pixel_values)
        if getattr(self.neck, 'patch_size', None):
            return self.neck(feats, out_size=grid, pixel_values=pixel_values)
        return self.neck(feats, out_size=grid)
