# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Exportable concept path: text encoder and concept (detector) decoder.

The concept path is split where a runtime can cache: ``text_encoder.onnx``
turns token ids into projected text features once per phrase (a vocabulary
can be encoded ahead of time), ``concept_decoder.onnx`` runs SAM3's DETR
encoder / decoder, scoring and segmentation head on the image's detector
levels and those features. Both wrap transformers' ``Sam3Model`` parts
(``Sam3Heads.detector``) without changing them.
"""
from typing import List, Tuple

import torch
from torch import Tensor, nn

TEXT_INPUTS = ('input_ids', 'attention_mask')
TEXT_OUTPUTS = ('text_features', 'text_mask')
CONCEPT_OUTPUTS = ('pred_masks', 'pred_boxes', 'pred_logits',
                   'presence_logits')


class TextEncoderOnnx(nn.Module):
    """Token ids -> projected text features (``Sam3Heads.text_features``).

    Args:
        heads: :class:`~esam3.models.heads.Sam3Heads` with a detector.
    """

    def __init__(self, heads: nn.Module) -> None:
        super().__init__()
        self.heads = heads

    def forward(self, input_ids: Tensor,
                attention_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Encode ``[B, L]`` int64 ids and their mask.

        Returns:
            ``(text_features [B, L, C], text_mask int64 [B, L])``.
        """
        out = self.heads.text_features(input_ids, attention_mask)
        return out.pooler_output, (attention_mask > 0).to(torch.int64)


class ConceptDecoderOnnx(nn.Module):
    """Detector levels + text features [+ exemplar boxes] -> detections.

    Args:
        heads: :class:`~esam3.models.heads.Sam3Heads` with a detector.
        with_exemplars: add the exemplar inputs (``boxes`` normalised
            cxcywh ``[1, E, 4]``, ``box_labels`` int64 ``[1, E]``, ``E``
            dynamic). SAM3's geometry encoder adds tokens whenever boxes
            are given, so text-only prompts use the graph without them.
    """

    def __init__(self, heads: nn.Module, with_exemplars: bool) -> None:
        super().__init__()
        self.heads = heads
        self.with_exemplars = bool(with_exemplars)

    @property
    def input_names(self) -> List[str]:
        names = ['det_0', 'det_1', 'det_2'] + list(TEXT_OUTPUTS)
        return names + (['boxes', 'box_labels'] if self.with_exemplars else [])

    def forward(self, det_0: Tensor, det_1: Tensor, det_2: Tensor,
                text_features: Tensor, text_mask: Tensor, *exemplars:
                Tensor) -> Tuple[Tensor, ...]:
        """Decode one image and one prompt.

        Returns:
            ``(pred_masks [1, Q, h, w] logits, pred_boxes [1, Q, 4]
            normalised xyxy, pred_logits [1, Q], presence_logits [1, 1])``.
        """
        from transformers.modeling_outputs import BaseModelOutputWithPooling
        from transformers.models.sam3.modeling_sam3 import \
            Sam3VisionEncoderOutput
        fpn = [det_0, det_1, det_2]
        pos = self.heads.position_encodings(fpn, 'detector')
        empty = det_2.new_zeros(det_2.shape[:2] + (0, 0))
        vision = Sam3VisionEncoderOutput(
            last_hidden_state=None,
            fpn_hidden_states=tuple(fpn) + (empty, ),
            fpn_position_encoding=tuple(pos) + (empty, ))
        boxes = labels = None
        if self.with_exemplars:
            boxes, labels = exemplars
        out = self.heads.decode_concepts(
            vision,
            attention_mask=text_mask,
            text_embeds=BaseModelOutputWithPooling(
                pooler_output=text_features),
            input_boxes=boxes,
            input_boxes_labels=labels)
        return (out.pred_masks, out.pred_boxes, out.pred_logits,
                out.presence_logits)
