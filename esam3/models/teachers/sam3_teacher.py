# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Frozen SAM3 teacher built from Hugging Face transformers."""
from typing import Optional

import torch
from torch import Tensor

from esam3.registry import MODELS
from ..heads.sam3_heads import Sam3Heads, build_sam3_models
from ..sam3_promptable import Sam3Promptable


@MODELS.register_module()
class Sam3Teacher(Sam3Promptable):
    """SAM3 (``Sam3Model`` + ``Sam3TrackerModel``) sharing one ViT trunk.

    The teacher is always in eval mode and never takes gradients. Distillers
    hold it outside their ``state_dict()`` (see
    :func:`esam3.models.distillers.utils.attach_frozen`), so checkpoints
    contain only the student.

    Args:
        pretrained: hub id or local folder with SAM3 weights.
        config: ``Sam3Config`` kwargs for a randomly initialised model (tiny
            test teachers), optionally with ``tracker_config`` overrides.
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 config: Optional[dict] = None) -> None:
        super().__init__()
        detector, tracker = build_sam3_models(pretrained, config)
        self.trunk = detector.vision_encoder.backbone  # Sam3ViTModel
        self.heads = Sam3Heads(detector, tracker)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> 'Sam3Teacher':
        """The teacher stays in eval mode whatever the caller asks."""
        return super().train(False)

    @torch.no_grad()
    def encode_trunk(self, pixel_values: Tensor) -> Tensor:
        b, _, h, w = pixel_values.shape
        p = self.heads.patch_size
        if h % p or w % p:
            raise ValueError(f'SAM3 input {h}x{w} is not a multiple of the '
                             f'patch size {p}')
        tokens = self.trunk(pixel_values).last_hidden_state  # [B, N, C]
        return tokens.transpose(1, 2).reshape(b, -1, h // p, w // p)
