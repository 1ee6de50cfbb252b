# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Cached text embeddings of a fixed vocabulary (no text encoder at run
time)."""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from esam3.models.text.text_identity import describe_identity

__all__ = [
    'TextEmbeddings', 'VocabularyMismatchError', 'encode_phrases',
    'describe_identity'
]

FORMAT = 'esam3-text-embeddings'
VERSION = 1


class VocabularyMismatchError(ValueError):
    """Cached embeddings made by another text encoder than the model's."""


@dataclass
class TextEmbeddings:
    """Projected text features of phrases, what SAM3's concept heads read.

    Attributes:
        phrases (list[str]): the phrases, one per row.
        features (Tensor): ``[N, L, C]`` projected per-token features.
        mask (Tensor): ``[N, L]`` bool, True on real tokens.
        encoder (dict): the text encoder that made them
            (:func:`~esam3.models.text.text_encoder_identity`).
        context_length (int): ``L``, the tokenizer's sequence length.
    """
    phrases: List[str]
    features: Tensor
    mask: Tensor
    encoder: Dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.phrases)
        if self.features.dim() != 3 or self.mask.shape != \
                self.features.shape[:2] or self.features.shape[0] != n:
            raise ValueError(
                f'TextEmbeddings: features [N, L, C] and mask [N, L] for '
                f'N={n} phrases, got {tuple(self.features.shape)} and '
                f'{tuple(self.mask.shape)}')
        self.mask = self.mask.bool()
        self._index = {p: i for i, p in enumerate(self.phrases)}

    def __len__(self) -> int:
        return len(self.phrases)

    @property
    def context_length(self) -> int:
        return int(self.features.shape[1])

    def index(self, phrase: str) -> int:
        """Row of ``phrase``.

        Raises:
            KeyError: naming the phrase and a few cached ones.
        """
        if phrase not in self._index:
            raise KeyError(f'phrase {phrase!r} is not in the cached '
                           f'vocabulary of {len(self)} phrases (e.g. '
                           f'{self.phrases[:5]})')
        return self._index[phrase]

    def select(self, phrases: Sequence[str]) -> 'TextEmbeddings':
        """The rows of ``phrases``, in that order."""
        rows = [self.index(p) for p in phrases]
        return TextEmbeddings(
            list(phrases), self.features[rows], self.mask[rows],
            dict(self.encoder))

    def check_encoder(self, identity: Dict, where: str = 'the model') -> None:
        """Raise unless these embeddings were made by ``identity``.

        Raises:
            VocabularyMismatchError: naming both encoders.
        """
        keys = ('encoder', 'hidden_size', 'num_hidden_layers', 'out_channels',
                'weights')
        if any(self.encoder.get(k) != identity.get(k) for k in keys):
            raise VocabularyMismatchError(
                'cached text embeddings were made by '
                f'{describe_identity(self.encoder)}, but {where} uses '
                f'{describe_identity(identity)}: rebuild the cache with '
                'tools/misc/cache_vocabulary.py and this model')

    # ------------------------------------------------------------------ io
    def save(self, path: str) -> None:
        """Write one ``torch.save`` file (plain tensors, lists and dicts:

        loads with ``weights_only=True``).
        """
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        torch.save(
            dict(
                format=FORMAT,
                version=VERSION,
                phrases=list(self.phrases),
                features=self.features.detach().cpu().contiguous(),
                mask=self.mask.cpu(),
                encoder=dict(self.encoder)), path)

    @classmethod
    def load(cls, path: str) -> 'TextEmbeddings':
        """Read a file written by :meth:`save`.

        Raises:
            FileNotFoundError / ValueError: naming the file and the field.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'text embedding cache not found: {path}')
        data = torch.load(path, map_location='cpu', weights_only=True)
        if not isinstance(data, dict) or data.get('format') != FORMAT:
            raise ValueError(f'{path} is not an esam3 text embedding cache '
                             f'(format field {FORMAT!r} missing)')
        if data.get('version') != VERSION:
            raise ValueError(f'{path}: cache version {data.get("version")}, '
                             f'this esam3 reads version {VERSION}')
        missing = [
            k for k in ('phrases', 'features', 'mask', 'encoder')
            if k not in data
        ]
        if missing:
            raise ValueError(f'{path}: missing fields {missing}')
        return cls(data['phrases'], data['features'], data['mask'],
                   data['encoder'])

    def to(self, device) -> 'TextEmbeddings':
        return TextEmbeddings(self.phrases, self.features.to(device),
                              self.mask.to(device), self.encoder)


def encode_phrases(heads,
                   tokenizer,
                   phrases: Sequence[str],
                   batch_size: int = 64,
                   context_length: Optional[int] = None) -> TextEmbeddings:
    """Run the text encoder of SAM3 heads (``heads.text_features``) on
    ``phrases`` in batches.

    Args:
        heads: :class:`~esam3.models.heads.Sam3Heads`.
        tokenizer: :class:`~esam3.models.teachers.Sam3Tokenizer`.
        phrases: the vocabulary (empty / non-string phrases raise,
            over-long ones are truncated with a warning by the tokenizer).
        batch_size: phrases per forward.
        context_length: token sequence length (tokenizer default if None).
    """
    from esam3.models.text.text_identity import text_encoder_identity
    phrases = list(phrases)
    if not phrases:
        raise ValueError('encode_phrases: no phrases')
    device = next(heads.parameters()).device
    feats, masks = [], []
    with torch.no_grad():
        for i in range(0, len(phrases), batch_size):
            ids, mask = tokenizer(phrases[i:i + batch_size], context_length)
            out = heads.text_features(ids.to(device), mask.to(device))
            feats.append(out.pooler_output.float().cpu())
            masks.append(mask.bool())
    return TextEmbeddings(phrases, torch.cat(feats), torch.cat(masks),
                          text_encoder_identity(heads.detector))
