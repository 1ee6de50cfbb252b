# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SAM3's own text encoder (CLIP + projection), frozen, as a teacher."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor
from transformers import Sam3Config, Sam3Model
from transformers.modeling_outputs import BaseModelOutputWithPooling

from esam3.registry import MODELS
from ..hf_builder import build_hf_model
from .text_identity import text_encoder_identity

__all__ = ['Sam3TextTeacher']


@MODELS.register_module()
class Sam3TextTeacher(BaseModule):
    """The text half of ``Sam3Model``: CLIP text encoder + the projection to
    the DETR width (what the concept heads read), frozen and in eval mode.

    The rest of the SAM3 model is dropped right after loading, so text
    distillation holds ~355M parameters instead of 840M.

    Args:
        pretrained (str, optional): hub id or ``save_pretrained`` folder of
            SAM3 weights (same as :class:`~esam3.models.Sam3Teacher`).
        config (dict, optional): ``Sam3Config`` kwargs (tiny random
            teachers); ``tracker_config`` is ignored.
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 config: Optional[dict] = None) -> None:
        super().__init__()
        if config is not None:
            config = {
                k: v
                for k, v in dict(config).items() if k != 'tracker_config'
            }
        det = build_hf_model(
            Sam3Model, Sam3Config, pretrained=pretrained, config=config)
        self.text_encoder = det.text_encoder
        self.text_projection = det.text_projection
        self.out_channels = int(det.text_projection.out_features)
        del det
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> 'Sam3TextTeacher':
        """Always in eval mode."""
        return super().train(False)

    @property
    def identity(self) -> dict:
        """What describes this encoder (recorded in vocabulary caches)."""
        return text_encoder_identity(self)

    @torch.no_grad()
    def forward(self,
                input_ids: Tensor,
                attention_mask: Optional[Tensor] = None,
                **kwargs) -> BaseModelOutputWithPooling:
        """``pooler_output``: projected per-token features ``[B, L, C]``, as
        ``Sam3Model.get_text_features`` returns them."""
        out = self.text_encoder(
            input_ids=input_ids, attention_mask=attention_mask)
        hidden = out.last_hidden_state
        return BaseModelOutputWithPooling(
            last_hidden_state=hidden,
            pooler_output=self.text_projection(hidden))
