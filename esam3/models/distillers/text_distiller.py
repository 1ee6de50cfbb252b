# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Text-encoder distillation: a light text student mimics SAM3's projected
text features."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.structures import BaseDataElement
from torch import Tensor

from esam3.registry import MODELS
from .base_distiller import BaseDistiller


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x`` ``[B, L, C]`` over the tokens where ``mask`` ``[B, L]`` is
    1 -> ``[B, C]``."""
    m = mask.to(x.dtype)[..., None]
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


def token_cosine(student: Tensor, teacher: Tensor, mask: Tensor) -> Tensor:
    """Per-phrase mean cosine similarity over the real tokens ``[B]``."""
    cos = F.cosine_similarity(student, teacher, dim=-1)  # [B, L]
    m = mask.to(cos.dtype)
    return (cos * m).sum(1) / m.sum(1).clamp(min=1.0)


def teacher_token_embedding(teacher) -> Tensor:
    """The token table ``[V, D]`` of SAM3's CLIP text encoder."""
    enc = teacher.text_encoder
    model = getattr(enc, 'text_model', enc)
    return model.embeddings.token_embedding.weight


@torch.no_grad()
def init_token_embedding_from(student, table: Tensor) -> None:
    """Start the student's token table from the teacher's, projected on its
    ``min(D_s, D_t)`` principal directions (zeros beyond, when the student is
    wider).

    A phrase corpus covers a few thousand of the 49,408 BPE tokens; tokens it
    never shows keep this projection of what the teacher knows about them
    instead of a random vector.
    """
    weight = student.text_encoder.embeddings.token_embedding.weight
    if weight.shape[0] != table.shape[0]:
        raise ValueError(f'student vocabulary {weight.shape[0]} != teacher '
                         f'vocabulary {table.shape[0]}')
    centred = table.float() - table.float().mean(0, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    k = min(weight.shape[1], vh.shape[0])
    proj = centred @ vh[:k].T  # [V, k]
    weight.zero_()
    weight[:, :k] = proj.to(weight.dtype)


@MODELS.register_module()
class TextDistiller(BaseDistiller):
    """Distil SAM3's text encoder into a light text student.

    Both encoders turn the same token ids into projected per-token features
    ``[B, L, C]`` (C = SAM3's DETR width), the only text input of SAM3's
    concept heads (DETR encoder / decoder cross-attention, dot-product
    scoring, the segmentation head's prompt attention). Losses, all over
    the real tokens only (padding masked):

    - ``loss_token``: MSE per token (:class:`MaskedMSELoss`), scaled by
      ``token_weight``;
    - ``loss_token_cos``: 1 - cosine per token, ``token_cos_weight``;
    - ``loss_pooled``: 1 - cosine of the token-mean features,
      ``pooled_weight``.

    The teacher (``Sam3TextTeacher``) is frozen and kept out of
    ``state_dict()``, so checkpoints hold the student only (keys under
    ``student.``, loadable by ``Sam3LiteTextStudent(pretrained=...)``).
    Prediction writes ``token_cos`` and ``pooled_cos`` per phrase for
    :class:`~esam3.evaluation.TextFidelityMetric`.

    Args:
        student (dict): ``Sam3LiteTextStudent`` config.
        teacher (dict): ``Sam3TextTeacher`` config.
        tokenizer (dict): ``Sam3Tokenizer`` config.
        context_length (int): token sequence length (SAM3: 32).
        token_weight / token_cos_weight / pooled_weight (float): loss
            weights.
        init_embeddings_from_teacher (bool): start the student's token
            table from the teacher's (:func:`init_token_embedding_from`);
            skipped for a student loaded from ``pretrained``. Defaults to
            True.
        data_preprocessor (dict, optional): defaults to mmengine's
            ``BaseDataPreprocessor`` (phrases need no preprocessing).
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 tokenizer: dict,
                 context_length: int = 32,
                 token_weight: float = 1.0,
                 token_cos_weight: float = 1.0,
                 pooled_weight: float = 1.0,
                 init_embeddings_from_teacher: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        # BaseDistiller keeps the teacher frozen and out of state_dict()
        super().__init__(
            student,
            teacher,
            data_preprocessor,
            init_student_heads_from_teacher=False,
            init_cfg=init_cfg)
        teacher = self.teacher
        if teacher.out_channels != self.student.out_channels:
            raise ValueError(
                f'TextDistiller: the student projects to '
                f'{self.student.out_channels} channels, the teacher to '
                f'{teacher.out_channels} (set student.out_channels)')
        if init_embeddings_from_teacher and \
                getattr(self.student, 'pretrained', None) is None:
            init_token_embedding_from(self.student,
                                      teacher_token_embedding(teacher))
            self.student.text_encoder.embeddings._is_hf_initialized = True
        self.tokenizer = MODELS.build(tokenizer)
        self.context_length = int(context_length)
        self.loss_mse = MODELS.build(dict(type='MaskedMSELoss'))
        self.token_weight = float(token_weight)
        self.token_cos_weight = float(token_cos_weight)
        self.pooled_weight = float(pooled_weight)

    def tokenize(self, texts: Sequence[str]):
        """Token ids and mask of ``texts`` on the model's device."""
        ids, mask = self.tokenizer(list(texts), self.context_length)
        device = next(self.student.parameters()).device
        return ids.to(device), mask.to(device)

    def features(self, texts: Sequence[str]):
        """Student and teacher projected features ``[B, L, C]`` and mask."""
        ids, mask = self.tokenize(texts)
        student = self.student(ids, mask).pooler_output
        with torch.no_grad():
            teacher = self.teacher(ids, mask).pooler_output
        return student, teacher, mask

    def loss(self, inputs: List[str], data_samples=None) -> Dict[str, Tensor]:
        s, t, mask = self.features(inputs)
        losses = {}
        # MaskedMSELoss takes maps [B, C, h, w]: tokens as a [L, 1] map
        losses['loss_token'] = self.token_weight * self.loss_mse(
            s.transpose(1, 2)[..., None],
            t.transpose(1, 2)[..., None], mask[:, :, None])
        losses['loss_token_cos'] = self.token_cos_weight * (
            1 - token_cosine(s, t, mask)).mean()
        losses['loss_pooled'] = self.pooled_weight * (1 - F.cosine_similarity(
            masked_mean(s, mask), masked_mean(t, mask), dim=-1)).mean()
        return losses

    @torch.no_grad()
    def predict(self, inputs: List[str], data_samples=None) -> list:
        s, t, mask = self.features(inputs)
        tok = token_cosine(s, t, mask)
        pooled = F.cosine_similarity(
            masked_mean(s, mask), masked_mean(t, mask), dim=-1)
        out = []
        for i, text in enumerate(inputs):
            ds = BaseDataElement(metainfo=dict(text=text))
            ds.token_cos = float(tok[i])
            ds.pooled_cos = float(pooled[i])
            out.append(ds)
        return out

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        """Mmengine entry point; ``inputs`` is a list of phrases."""
        if isinstance(inputs, str):
            inputs = [inputs]
        return super().forward(inputs, data_samples, mode)

    def _forward(self, inputs: List[str], data_samples=None) -> Tensor:
        """The student's projected features ``[B, L, C]``."""
        return self.student(*self.tokenize(inputs)).pooler_output
