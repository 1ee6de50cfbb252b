# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Offline SAM3 text tokenizer (CLIP byte-level BPE, 49,408 tokens).

SAM3's text encoder is a CLIP text transformer that uses the original
OpenAI CLIP BPE vocabulary. That vocabulary ships inside the
``open_clip_torch`` package as ``bpe_simple_vocab_16e6.txt.gz`` (a list of
BPE merges), so the tokenizer can be rebuilt without network access: the
token table is the 256 byte symbols, the same 256 symbols with the
end-of-word marker ``</w>``, one token per merge (48,894 merges) and the two
special tokens ``<|startoftext|>`` (49406) and ``<|endoftext|>`` (49407).
The table and merges are passed to transformers' ``CLIPTokenizer`` directly
(``vocab=`` / ``merges=``); ``vocab_file=`` is not relied on.
"""
import gzip
import importlib.resources
import os.path as osp
import warnings
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from esam3.registry import MODELS

__all__ = ['Sam3Tokenizer', 'clip_bpe_vocab_and_merges', 'default_bpe_path']

BPE_FILE = 'bpe_simple_vocab_16e6.txt.gz'
NUM_MERGES = 49152 - 256 - 2  # merges used by CLIP (rest of the file unused)
SOT_TOKEN = '<|startoftext|>'
EOT_TOKEN = '<|endoftext|>'


def default_bpe_path() -> str:
    """Path of the CLIP BPE merges file shipped with ``open_clip_torch``.

    Raises:
        FileNotFoundError: when open_clip is missing or lacks the file.
    """
    try:
        path = importlib.resources.files('open_clip').joinpath(BPE_FILE)
    except ModuleNotFoundError as err:
        raise FileNotFoundError(
            f'{BPE_FILE} is read from the open_clip_torch package, which is '
            'not installed (pip install open_clip_torch), or pass '
            'bpe_path=') from err
    if not path.is_file():
        raise FileNotFoundError(f'{BPE_FILE} not found in {path}')
    return str(path)


def _byte_symbols() -> List[str]:
    """The 256 printable unicode symbols standing for the bytes 0..255.

    Printable latin-1 bytes map to themselves; the others (control chars,
    space, ...) are shifted to code points 256, 257, ... in byte order. This
    is the byte-level alphabet of GPT-2/CLIP BPE.
    """
    keep = (
        list(range(ord('!'),
                   ord('~') + 1)) + list(range(ord('¡'),
                                               ord('¬') + 1)) +
        list(range(ord('®'),
                   ord('ÿ') + 1)))
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    # Token order of CLIP: the printable ones first, then the shifted ones.
    kept = set(keep)
    return [table[b]
            for b in keep] + [table[b] for b in range(256) if b not in kept]


@lru_cache(maxsize=4)
def clip_bpe_vocab_and_merges(
        bpe_path: Optional[str] = None) -> Tuple[Dict[str, int], List[str]]:
    """Token -> id table and the merge list of the CLIP BPE.

    Args:
        bpe_path: gzipped merges file; default: the one in open_clip.

    Returns:
        ``(vocab, merges)`` with ``len(vocab) == 49408`` and merges as
        ``'a b'`` strings in priority order.
    """
    path = bpe_path or default_bpe_path()
    with gzip.open(path, 'rt', encoding='utf-8') as f:
        lines = f.read().split('\n')
    # line 0 is a version header
    merges = lines[1:NUM_MERGES + 1]
    if len(merges) != NUM_MERGES or any(len(m.split()) != 2 for m in merges):
        raise ValueError(f'{path} is not a CLIP BPE merges file')
    symbols = _byte_symbols()
    tokens = symbols + [s + '</w>' for s in symbols]
    tokens += [m.replace(' ', '') for m in merges]
    tokens += [SOT_TOKEN, EOT_TOKEN]
    return {t: i for i, t in enumerate(tokens)}, merges


@MODELS.register_module()
class Sam3Tokenizer:
    """Phrases -> ``(input_ids, attention_mask)`` for SAM3's text encoder.

    Each phrase becomes ``[SOT, tokens..., EOT]`` padded with EOT (the pad
    token of SAM3's Hugging Face tokenizer) to ``context_length``; the
    attention mask is 1 on real tokens. A phrase that does not fit is cut so
    that the last position still holds EOT, and a warning is issued (once
    per call). Ids equal ``open_clip.tokenize`` on the unpadded positions.

    Args:
        bpe_path: CLIP BPE merges file; default: open_clip's copy.
        context_length: default length of the token sequences (SAM3: 32).
    """

    def __init__(self,
                 bpe_path: Optional[str] = None,
                 context_length: int = 32) -> None:
        from transformers import CLIPTokenizer
        vocab, merges = clip_bpe_vocab_and_merges(bpe_path)
        self.tokenizer = CLIPTokenizer(
            vocab=dict(vocab), merges=[tuple(m.split()) for m in merges])
        self.context_length = int(context_length)
        self.sot_token_id = vocab[SOT_TOKEN]
        self.eot_token_id = vocab[EOT_TOKEN]
        self.vocab_size = len(vocab)

    @staticmethod
    def _check(texts: Sequence[str]) -> List[str]:
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f'Sam3Tokenizer: phrase {i} is not a str: '
                                 f'{text!r} ({type(text).__name__})')
            if not text.strip():
                raise ValueError(
                    f'Sam3Tokenizer: phrase {i} is empty: {text!r}')
        return texts

    def encode(self, text: str) -> List[int]:
        """BPE ids of one phrase, without start/end tokens."""
        return self.tokenizer(text, add_special_tokens=False)['input_ids']

    def __call__(
            self,
            texts: Sequence[str],
            context_length: Optional[int] = None) -> Tuple[Tensor, Tensor]:
        """Tokenize phrases.

        Args:
            texts: noun phrases (a single str is accepted too).
            context_length: sequence length; default ``self.context_length``.

        Returns:
            ``input_ids`` and ``attention_mask``, long tensors ``[N, L]``.

        Raises:
            ValueError: on an empty or non-string phrase (names its index).
        """
        length = int(context_length or self.context_length)
        if length < 2:
            raise ValueError(f'context_length must be >= 2, got {length}')
        texts = self._check(texts)
        ids = torch.full((len(texts), length),
                         self.eot_token_id,
                         dtype=torch.long)
        mask = torch.zeros((len(texts), length), dtype=torch.long)
        truncated = []
        for i, text in enumerate(texts):
            body = self.encode(text)
            if len(body) > length - 2:
                truncated.append(i)
                body = body[:length - 2]
            row = [self.sot_token_id] + body + [self.eot_token_id]
            ids[i, :len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, :len(row)] = 1
        if truncated:
            shown = ', '.join(f'{i}: {texts[i][:40]!r}' for i in truncated[:5])
            warnings.warn(
                f'Sam3Tokenizer: {len(truncated)} phrase(s) longer than '
                f'context_length={length} were truncated (end token kept): '
                f'{shown}',
                UserWarning,
                stacklevel=2)
        return ids, mask

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(vocab_size={self.vocab_size}, '
                f'context_length={self.context_length}, '
                f'bpe={osp.basename(BPE_FILE)})')
