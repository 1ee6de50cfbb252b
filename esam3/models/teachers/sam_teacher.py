# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Frozen SAM (v1) teacher built from Hugging Face transformers' SamModel.

SAM1 answers geometric prompts only (points, boxes, mask logits). The class
also serves as the base of :class:`~esam3.models.teachers.Sam2Teacher`,
which keeps the same interface with SAM2's model classes.
"""
import copy
from typing import Any, List, Optional, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor
from transformers import SamConfig, SamModel

from esam3.registry import MODELS
from ..hf_builder import build_hf_model

ImageEmbeddings = Union[Tensor, List[Tensor]]


@MODELS.register_module()
class SamTeacher(BaseModule):
    """SAM1 (``SamModel``) as a frozen, eval-only teacher.

    Same shape of interface as :class:`~esam3.models.teachers.Sam3Teacher`:
    ``encode_trunk`` gives the image feature map, ``predict_prompts`` answers
    points / boxes / masks. Distillers hold teachers outside their
    ``state_dict()`` (``object.__setattr__``), so checkpoints contain only
    the student.

    Args:
        pretrained: hub id (e.g. ``'facebook/sam-vit-base'``, needs the local
            HF cache offline) or a local ``save_pretrained`` folder.
        config: ``SamConfig`` kwargs for a randomly initialised model (tiny
            test teachers, see ``configs/_base_/models/sam1_tiny.py``).
        init_cfg: unused (weights come from ``pretrained``); kept for
            OpenMMLab compatibility.
    """

    model_cls = SamModel
    config_cls = SamConfig
    display_name = 'SAM'

    def __init__(self,
                 pretrained: Optional[str] = None,
                 config: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.model = build_hf_model(
            self.model_cls,
            self.config_cls,
            pretrained=pretrained,
            config=self._prepare_config(config))
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def _prepare_config(config: Optional[dict]) -> Optional[dict]:
        """Hook for subclasses to complete a config dict."""
        return copy.deepcopy(config) if isinstance(config, dict) else config

    # ---------------------------------------------------------------- state
    def train(self, mode: bool = True) -> 'SamTeacher':
        """The teacher stays in eval mode whatever the caller asks."""
        return super().train(False)

    def init_weights(self) -> None:
        """No-op: weights come from ``pretrained`` (or random ``config``)."""

    @property
    def image_size(self) -> int:
        """Input side length the prompt encoder expects (pixels)."""
        size = self.model.config.prompt_encoder_config.image_size
        return int(size if isinstance(size, int) else size[0])

    # ------------------------------------------------------------ features
    @torch.no_grad()
    def encode_image(self, pixel_values: Tensor) -> ImageEmbeddings:
        """Normalised images ``[B, 3, S, S]`` -> the model's image embeddings,
        exactly as ``get_image_embeddings`` returns them (SAM1:

        a tensor ``[B, 256, S/16, S/16]``).
        """
        self._check_input(pixel_values)
        return self.model.get_image_embeddings(pixel_values)

    @torch.no_grad()
    def encode_trunk(self, pixel_values: Tensor) -> Tensor:
        """The image feature map ``[B, C, h, w]`` students distil (SAM1: the
        neck output, i.e. the image embedding)."""
        emb = self.encode_image(pixel_values)
        return emb[-1] if isinstance(emb, (list, tuple)) else emb

    def _check_input(self, pixel_values: Tensor) -> None:
        if pixel_values.dim() != 4 or pixel_values.shape[1] != 3:
            raise ValueError(f'{self.display_name} teacher expects images '
                             f'[B, 3, H, W], got {tuple(pixel_values.shape)}')
        if tuple(pixel_values.shape[-2:]) != (self.image_size, ) * 2:
            raise ValueError(
                f'{self.display_name} teacher expects '
                f'{self.image_size}x{self.image_size} inputs, got '
                f'{tuple(pixel_values.shape[-2:])}')

    # ------------------------------------------------------------- prompts
    @torch.no_grad()
    def predict_prompts(self,
                        pixel_values: Optional[Tensor] = None,
                        image_embeddings: Optional[ImageEmbeddings] = None,
                        points: Optional[Tensor] = None,
                        labels: Optional[Tensor] = None,
                        boxes: Optional[Tensor] = None,
                        masks: Optional[Tensor] = None,
                        multimask_output: bool = False,
                        concepts: Optional[Any] = None):
        """Geometric prompts -> masks.

        Args:
            pixel_values: normalised images ``[B, 3, S, S]``; or
            image_embeddings: from :meth:`encode_image` (exactly one).
            points: ``[B, P, n, 2]`` xy in input pixels.
            labels: ``[B, P, n]``: 1 positive, 0 negative, 2/3 box corners,
                -10 padding.
            boxes: ``[B, P, 4]`` xyxy in input pixels.
            masks: mask-logit prompts in the layout the HF model takes
                (``input_masks``).
            multimask_output: 3 masks per prompt instead of 1.
            concepts: not supported (text / exemplar prompts).

        Returns:
            The HF segmentation output: ``pred_masks [B, P, K, S/4, S/4]``
            logits and ``iou_scores [B, P, K]`` (SAM2 adds
            ``object_score_logits``).

        Raises:
            NotImplementedError: for concept prompts.
            ValueError: without any geometric prompt, or with both/neither
                of ``pixel_values`` and ``image_embeddings``.
        """
        if concepts is not None:
            self.predict_concepts()
        if points is None and boxes is None and masks is None:
            raise ValueError(f'{self.display_name} teacher: predict_prompts '
                             'needs points, boxes or masks')
        if points is not None and labels is None:
            raise ValueError('predict_prompts: points given without labels')
        if (pixel_values is None) == (image_embeddings is None):
            raise ValueError('give exactly one of pixel_values or '
                             'image_embeddings')
        if image_embeddings is None:
            image_embeddings = self.encode_image(pixel_values)
        return self.model(
            image_embeddings=image_embeddings,
            input_points=points,
            input_labels=labels,
            input_boxes=boxes,
            input_masks=masks,
            multimask_output=multimask_output)

    def predict_concepts(self, *args, **kwargs):
        """Concept (text / exemplar) prompts are a SAM3 feature."""
        raise NotImplementedError(
            f'{self.display_name} has no text prompts; use Sam3Teacher')
