# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Downstream agreement of a text student: the same concept heads and image
features, fed the teacher's vs the student's text features."""
from typing import Dict, List, Sequence

import torch
from torch import Tensor, nn
from transformers.modeling_outputs import BaseModelOutputWithPooling

from ..distillers.score_matching import match_scores

__all__ = ['text_concept_agreement']


@torch.no_grad()
def text_concept_agreement(heads,
                           features,
                           phrases: Sequence[str],
                           tokenizer,
                           text_model: nn.Module,
                           score_thr: float = 0.3) -> List[Dict]:
    """Run SAM3's concept heads on one image with each phrase twice: with the
    heads' own text encoder (the reference) and with ``text_model``'s projected
    features (a text student), and compare the answers.

    Args:
        heads: :class:`~esam3.models.heads.Sam3Heads` (e.g. the teacher's).
        features: the image's trunk map or ``NeckLevels`` (batch 1).
        phrases: the prompts.
        tokenizer: :class:`~esam3.models.teachers.Sam3Tokenizer`.
        text_model: a module with the ``Sam3Model.get_text_features``
            contract (``pooler_output`` = projected features ``[B, L, C]``),
            e.g. :class:`Sam3LiteTextStudent`.
        score_thr: reference detections kept above this score.

    Returns:
        One dict per phrase, the fields
        :class:`~esam3.evaluation.ScoreCalibrationMetric` reads:
        ``score_pairs`` ``[M, 2]`` (student-text, reference-text) scores of
        matched detections, ``student_presence``, ``teacher_presence``.
    """
    vis = heads.detector_features(features)
    ids, mask = tokenizer(list(phrases))
    device = next(heads.parameters()).device
    ids, mask = ids.to(device), mask.to(device)
    out = []
    for i in range(len(phrases)):
        row_ids, row_mask = ids[i:i + 1], mask[i:i + 1]
        ref = heads.decode_concepts(vis, row_ids, row_mask)
        text: Tensor = text_model(row_ids, row_mask).pooler_output
        got = heads.decode_concepts(
            vis,
            None,
            row_mask,
            text_embeds=BaseModelOutputWithPooling(pooler_output=text))
        s_pres = got.presence_logits.sigmoid().view(())
        t_pres = ref.presence_logits.sigmoid().view(())
        pairs = match_scores(got.pred_logits[0].sigmoid() * s_pres,
                             got.pred_boxes[0],
                             ref.pred_logits[0].sigmoid() * t_pres,
                             ref.pred_boxes[0], score_thr)
        out.append(
            dict(
                text=phrases[i],
                score_pairs=pairs.cpu().numpy(),
                student_presence=float(s_pres),
                teacher_presence=float(t_pres)))
    return out
