# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Frozen SAM2 teacher (``Sam2Model``, optional ``Sam2VideoModel``)."""
import copy
from typing import Optional

from torch import Tensor
from transformers import Sam2Config, Sam2Model, Sam2VideoConfig, Sam2VideoModel

from esam3.registry import MODELS
from ..hf_builder import build_hf_model
from .sam_teacher import SamTeacher

HIERA_MODEL_TYPE = 'sam2_hiera_det_model'


@MODELS.register_module()
class Sam2Teacher(SamTeacher):
    """SAM2 image model as a frozen, eval-only teacher.

    ``encode_image`` returns what ``Sam2Model.get_image_embeddings`` does: a
    list of 3 maps (strides 4, 8, 16; the two high-resolution ones already
    projected by the mask decoder, the last one with the no-memory
    embedding added). ``encode_trunk`` returns the stride-16 map
    ``[B, 256, S/16, S/16]`` (what SAM2 students distil).

    Args:
        pretrained: hub id (e.g. ``'facebook/sam2.1-hiera-tiny'``, local HF
            cache only when offline) or a local ``save_pretrained`` folder.
        config: ``Sam2Config`` kwargs (random weights; tiny test teachers in
            ``configs/_base_/models/sam2_tiny.py``). The Hiera
            ``backbone_config`` gets ``model_type='sam2_hiera_det_model'``
            when it has none.
        with_video: also build ``Sam2VideoModel`` (dense-memory video
            tracker) as ``self.video_model``; it shares this model's vision
            encoder.
        video_config: extra ``Sam2VideoConfig`` kwargs (memory sizes) used
            with ``config``.
        init_cfg: unused; kept for OpenMMLab compatibility.
    """

    model_cls = Sam2Model
    config_cls = Sam2Config
    display_name = 'SAM2'

    def __init__(self,
                 pretrained: Optional[str] = None,
                 config: Optional[dict] = None,
                 with_video: bool = False,
                 video_config: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(pretrained, config, init_cfg)
        self.video_model: Optional[Sam2VideoModel] = None
        if with_video:
            if config is not None:
                cfg = self._prepare_config(config)
                cfg.update(copy.deepcopy(video_config or {}))
                video = build_hf_model(
                    Sam2VideoModel, Sam2VideoConfig, config=cfg)
            else:
                video = build_hf_model(
                    Sam2VideoModel, Sam2VideoConfig, pretrained=pretrained)
            # one image encoder for both (same weights in a real checkpoint)
            video.vision_encoder = self.model.vision_encoder
            self.video_model = video
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def _prepare_config(config: Optional[dict]) -> Optional[dict]:
        if not isinstance(config, dict):
            return config
        config = copy.deepcopy(config)
        backbone = config.get('vision_config', {}).get('backbone_config')
        if isinstance(backbone, dict):
            backbone.setdefault('model_type', HIERA_MODEL_TYPE)
        return config

    def encode_trunk(self, pixel_values: Tensor) -> Tensor:
        """Stride-16 image embedding ``[B, C, S/16, S/16]``."""
        return self.encode_image(pixel_values)[-1]
