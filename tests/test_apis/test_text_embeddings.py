# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Vocabulary caches: same detections as live text, mismatch errors."""
import numpy as np
import pytest
import torch
from api_fixtures import sample_image, stage1_distiller, tiny_num_queries

from esam3.apis import ImagePredictor, TextEmbeddings, VocabularyMismatchError
from esam3.models.teachers import Sam3Tokenizer

IMG = sample_image('coffee.jpg')


@pytest.fixture(scope='module')
def predictors():
    distiller, _ = stage1_distiller()
    tok = Sam3Tokenizer()
    out = []
    for model in (distiller.student, distiller.teacher):
        pred = ImagePredictor(model, img_size=224, tokenizer=tok)
        pred.set_image(IMG, channel_order='bgr')
        out.append(pred)
    return out


def test_cache_round_trip_gives_the_same_detections(predictors, tmp_path):
    pred = predictors[0]
    cache = pred.encode_text(['cup', 'coffee cup', 'visual'])
    assert cache.features.shape[:2] == cache.mask.shape == (3, 32)
    assert cache.mask.sum(1).tolist() == [3, 4, 3]
    cache.save(str(tmp_path / 'vocab.pt'))
    loaded = TextEmbeddings.load(str(tmp_path / 'vocab.pt'))
    assert loaded.phrases == cache.phrases
    for kwargs in (dict(text='coffee cup'),
                   dict(exemplar_boxes=[[100, 80, 420, 330]])):
        live = pred.predict_concept(score_thr=0.0, **kwargs)
        cached = pred.predict_concept(
            score_thr=0.0, text_embeddings=loaded, **kwargs)
        assert len(live['scores']) == tiny_num_queries()
        np.testing.assert_allclose(cached['scores'], live['scores'], atol=1e-6)
        np.testing.assert_array_equal(cached['masks'], live['masks'])
        np.testing.assert_allclose(cached['boxes'], live['boxes'], atol=1e-4)
        assert cached['presence'] == pytest.approx(live['presence'])


def test_cache_needs_no_tokenizer(predictors):
    pred = predictors[0]
    cache = pred.encode_text('cup')
    live = pred.predict_concept('cup', score_thr=0.0)
    tok, pred.tokenizer = pred.tokenizer, None
    try:
        cached = pred.predict_concept(
            'cup', score_thr=0.0, text_embeddings=cache)
        with pytest.raises(RuntimeError, match='no tokenizer'):
            pred.predict_concept('cup')
    finally:
        pred.tokenizer = tok
    np.testing.assert_allclose(cached['scores'], live['scores'], atol=1e-6)


def test_mismatch_and_missing_phrase_are_named(predictors, tmp_path):
    student, teacher = predictors
    cache = teacher.encode_text(['cup'])
    # the tiny student's heads were copied from this teacher: same encoder
    student.predict_concept('cup', text_embeddings=cache)
    other = TextEmbeddings(
        cache.phrases, cache.features, cache.mask,
        dict(cache.encoder, encoder='Sam3LiteTextTextModel', hidden_size=512))
    with pytest.raises(VocabularyMismatchError) as err:
        student.predict_concept('cup', text_embeddings=other)
    msg = str(err.value)
    assert 'Sam3LiteTextTextModel (hidden 512' in msg
    assert 'CLIPTextModelWithProjection (hidden 32' in msg
    with pytest.raises(KeyError, match="'mug' is not in the cached"):
        student.predict_concept('mug', text_embeddings=cache)
    with torch.no_grad():  # other weights of the same size
        student.model.heads.detector.text_projection.weight.add_(1.0)
    try:
        with pytest.raises(VocabularyMismatchError, match='weights'):
            student.predict_concept('cup', text_embeddings=cache)
    finally:
        with torch.no_grad():
            student.model.heads.detector.text_projection.weight.sub_(1.0)


def test_bad_cache_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        TextEmbeddings.load(str(tmp_path / 'nope.pt'))
    torch.save(dict(a=1), tmp_path / 'x.pt')
    with pytest.raises(ValueError, match='not an esam3 text embedding'):
        TextEmbeddings.load(str(tmp_path / 'x.pt'))
    with pytest.raises(ValueError, match='N=2 phrases'):
        TextEmbeddings(['a', 'b'], torch.zeros(1, 4, 8), torch.ones(1, 4))
    with pytest.raises(ValueError, match='empty'):
        Sam3Tokenizer()(['cup', ''])


def test_bad_phrases(predictors):
    pred = predictors[0]
    with pytest.raises(ValueError, match='phrase 1 is empty'):
        pred.encode_text(['cup', ' '])
    with pytest.raises(ValueError, match='phrase 0 is not a str'):
        pred.encode_text([3])
    with pytest.warns(UserWarning, match='truncated'):
        long = pred.encode_text(['red ' * 40])
    assert long.mask.sum() == 32  # cut to the context, end token kept
