# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""The esam3 student: a light encoder + alignment head + SAM3 heads."""
from typing import Optional, Sequence

from torch import Tensor

from esam3.registry import MODELS
from .heads.sam3_heads import Sam3Heads, build_sam3_models
from .sam3_promptable import Sam3Promptable


@MODELS.register_module()
class EfficientSAM3(Sam3Promptable):
    """Student model answering the same prompts as SAM3.

    ``trunk`` (a :class:`~esam3.models.student_trunk.StudentTrunk`: timm
    backbone + alignment head) imitates the SAM3 ViT output
    ``[B, C, S/14, S/14]``; SAM3's own necks and heads run on it. The heads
    start from SAM3 weights: from ``sam3.pretrained`` for real weights, or
    copied from the teacher by the distiller (tiny random test teachers).

    Args:
        trunk: config of the student encoder + alignment head.
        sam3: ``dict(pretrained=...)`` or ``dict(config=...)`` describing the
            SAM3 heads (same as the teacher's).
        frozen_heads: name prefixes of :class:`Sam3Heads` parameters to
            freeze (e.g. the text encoder).
        freeze_trunk: freeze the whole encoder (Stage 2/3 default).
    """

    def __init__(self,
                 trunk: dict,
                 sam3: dict,
                 frozen_heads: Sequence[str] = (),
                 freeze_trunk: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.trunk = MODELS.build(trunk)
        detector, tracker = build_sam3_models(**sam3)
        self.heads = Sam3Heads(detector, tracker, frozen=frozen_heads)
        self.freeze_trunk = freeze_trunk
        if freeze_trunk:
            self.trunk.requires_grad_(False)
            self.trunk.eval()

    def train(self, mode: bool = True) -> 'EfficientSAM3':
        super().train(mode)
        if self.freeze_trunk:
            self.trunk.eval()
        return self

    def encode_trunk(self, pixel_values: Tensor) -> Tensor:
        out = self.trunk(pixel_values)
        if not isinstance(out, Tensor):
            raise TypeError('EfficientSAM3 needs a trunk-mode alignment head '
                            "(mode='trunk') returning one feature map")
        return out
