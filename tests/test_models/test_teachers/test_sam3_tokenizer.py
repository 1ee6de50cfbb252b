# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Sam3Tokenizer: offline CLIP BPE ids equal open_clip's tokenizer."""
import warnings

import open_clip
import pytest
import torch

from esam3.models.teachers import Sam3Tokenizer
from esam3.registry import MODELS

PHRASES = [
    'a cat', 'yellow school bus', 'Red   Car!', "person's hat", 'café au lait',
    'dog-shaped 3D balloon', '  striped zebra  '
]


@pytest.fixture(scope='module')
def tokenizer() -> Sam3Tokenizer:
    return MODELS.build(dict(type='Sam3Tokenizer'))


def test_ids_match_open_clip(tokenizer):
    ids, mask = tokenizer(PHRASES)
    assert ids.dtype == mask.dtype == torch.long
    assert tuple(ids.shape) == tuple(mask.shape) == (len(PHRASES), 32)
    ref = open_clip.tokenize(PHRASES, context_length=32)  # pads with 0
    assert torch.equal(mask, (ref != 0).long())
    assert torch.equal(ids * mask, ref * mask)
    assert ids[0, :4].tolist() == [49406, 320, 2368, 49407]
    assert (ids[:, 0] == 49406).all()
    lengths = mask.sum(1)
    assert (ids[torch.arange(len(PHRASES)), lengths - 1] == 49407).all()
    assert (ids[mask == 0] == 49407).all()  # padded with the end token
    assert tokenizer.vocab_size == 49408


def test_context_length_and_single_string(tokenizer):
    ids, mask = tokenizer('a cat', context_length=8)
    assert ids.tolist() == [[49406, 320, 2368, 49407] + [49407] * 4]
    assert mask.tolist() == [[1, 1, 1, 1, 0, 0, 0, 0]]


def test_truncation_keeps_end_token_and_warns_once(tokenizer):
    long_phrase = ' '.join(['word'] * 50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ids, mask = tokenizer([long_phrase, 'cat', long_phrase])
    msgs = [str(w.message) for w in caught if 'truncated' in str(w.message)]
    assert len(msgs) == 1 and '2 phrase(s)' in msgs[0]
    assert ids[0, -1].item() == 49407 and mask[0].all()
    assert torch.equal(ids[0], open_clip.tokenize([long_phrase], 32)[0])
    assert mask[1].sum() == 3


@pytest.mark.parametrize('bad,where', [([''], 'phrase 0 is empty'),
                                       (['cat', '   '], 'phrase 1 is empty'),
                                       (['cat', None], 'phrase 1 is not'),
                                       ([3], 'phrase 0 is not a str: 3')])
def test_bad_phrases(tokenizer, bad, where):
    with pytest.raises(ValueError, match=where):
        tokenizer(bad)
