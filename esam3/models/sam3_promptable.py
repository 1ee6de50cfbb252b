# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Common interface of the SAM3 teacher and the esam3 students."""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor

from .heads.sam3_heads import Sam3Heads


class Sam3Promptable(BaseModule):
    """A vision trunk followed by :class:`Sam3Heads`.

    Subclasses set ``self.heads`` and implement :meth:`encode_trunk`; the
    prompt-answering methods are shared, so a teacher and a student answer
    the same prompts with the same output structures.
    """

    heads: Sam3Heads

    def encode_trunk(self, pixel_values: Tensor) -> Tensor:
        """Normalised images ``[B, 3, S, S]`` -> trunk map ``[B, C, S/14,
        S/14]``."""
        raise NotImplementedError

    def _trunk(self, pixel_values: Optional[Tensor],
               trunk: Optional[Tensor]) -> Tensor:
        if (pixel_values is None) == (trunk is None):
            raise ValueError('give exactly one of pixel_values or trunk')
        return self.encode_trunk(pixel_values) if trunk is None else trunk

    def predict_prompts(self,
                        pixel_values: Optional[Tensor] = None,
                        trunk: Optional[Tensor] = None,
                        points: Optional[Tensor] = None,
                        labels: Optional[Tensor] = None,
                        boxes: Optional[Tensor] = None,
                        masks: Optional[Tensor] = None,
                        multimask_output: bool = False):
        """Points / boxes / masks -> masks (see
        :meth:`Sam3Heads.decode_prompts`)."""
        emb = self.heads.tracker_image_embeddings(
            self._trunk(pixel_values, trunk))
        return self.heads.decode_prompts(emb, points, labels, boxes, masks,
                                         multimask_output)

    def predict_concepts(self,
                         pixel_values: Optional[Tensor] = None,
                         trunk: Optional[Tensor] = None,
                         input_ids: Optional[Tensor] = None,
                         attention_mask: Optional[Tensor] = None,
                         text_embeds=None,
                         input_boxes: Optional[Tensor] = None,
                         input_boxes_labels: Optional[Tensor] = None):
        """Text / exemplar prompts -> all instances (see
        :meth:`Sam3Heads.decode_concepts`)."""
        vis = self.heads.detector_features(self._trunk(pixel_values, trunk))
        return self.heads.decode_concepts(vis, input_ids, attention_mask,
                                          text_embeds, input_boxes,
                                          input_boxes_labels)
