# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import numpy as np
import pytest
import torch
from text_fixtures import tiny_sam3_cfg, tiny_text_student

from esam3.models.teachers import Sam3Tokenizer
from esam3.models.text.concept_agreement import text_concept_agreement
from esam3.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')


def test_same_text_agrees_exactly_other_text_does_not():
    teacher = MODELS.build(dict(type='Sam3Teacher', **tiny_sam3_cfg()))
    # SAM3's own text half, built from the same config and seed
    same = MODELS.build(dict(type='Sam3TextTeacher', **tiny_sam3_cfg()))
    torch.manual_seed(0)
    other = MODELS.build(tiny_text_student()).eval()
    trunk = teacher.encode_trunk(torch.randn(1, 3, 224, 224))
    phrases = ['cat', 'red fire hydrant']
    tok = Sam3Tokenizer()
    ref = text_concept_agreement(teacher.heads, trunk, phrases, tok, same, 0.0)
    q = tiny_sam3_cfg()['config']['detr_decoder_config']['num_queries']
    for row in ref:
        assert row['score_pairs'].shape == (q, 2)  # every query kept
        np.testing.assert_allclose(row['score_pairs'][:, 0],
                                   row['score_pairs'][:, 1])
        assert row['student_presence'] == pytest.approx(
            row['teacher_presence'])
    got = text_concept_agreement(teacher.heads, trunk, phrases, tok, other,
                                 0.0)
    diff = np.concatenate([r['score_pairs'] for r in got])
    assert [r['text'] for r in got] == phrases
    assert np.abs(diff[:, 0] - diff[:, 1]).max() > 0
