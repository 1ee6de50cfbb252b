# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Non-finite, inverted and mismatched prompts to the image and video
predictors are rejected with messages naming the prompt.

Prompts that were already rejected (outside the image, empty, zero-area,
missing / bad labels, no prompt, no image / video) are covered in
``tests/test_apis/test_image_predictor.py::test_bad_prompts`` and
``tests/test_apis/test_video_predictor.py::test_errors``.
"""
import numpy as np
import pytest
from api_fixtures import (SAV_VIDEO, sample_image, stage1_distiller,
                          stage2_distiller)

from esam3.apis import ImagePredictor
from esam3.apis.image_inputs import check_exemplars, check_finite
from esam3.apis.video_predictor import VideoPredictor
from esam3.registry import MODELS

NAN, INF = float('nan'), float('inf')
IMG = sample_image('coffee.jpg')  # 400 x 600 (h x w)


@pytest.fixture(scope='module')
def image_predictor():
    distiller, _ = stage1_distiller()
    pred = ImagePredictor(
        distiller.teacher,
        img_size=224,
        tokenizer=MODELS.build(dict(type='Sam3Tokenizer')))
    pred.set_image(IMG, channel_order='bgr')
    return pred


@pytest.mark.parametrize(
    'kwargs,msg',
    [
        (dict(points=[[NAN, 10]], labels=[1]), 'points must be finite'),
        (dict(points=[[10, INF]], labels=[1]), 'points must be finite'),
        (dict(points=[[10, 10]], labels=[NAN]), '0 or 1'),
        (dict(boxes=[NAN, 10, 50, 60]), 'boxes must be finite'),
        (dict(boxes=[10, 10, 50, -INF]), 'zero-area'),  # inf < y1: inverted
        (dict(boxes=[10, 10, 50, 60], mask_input=np.full(
            (56, 56), NAN)), 'mask_input must be finite'),
    ])
def test_image_geometric_prompts(image_predictor, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        image_predictor.predict(**kwargs)


@pytest.mark.parametrize(
    'kwargs,msg',
    [
        (dict(exemplar_boxes=[[NAN, 80, 420, 330]]), 'exemplar boxes must be '
         'finite'),
        (dict(exemplar_boxes=[[100, 80, INF, 330]]), 'exemplar boxes must be '
         'finite'),
        (dict(exemplar_boxes=[[420, 80, 100, 330]]),
         r'inverted exemplar box 0: \[420\.0, 80\.0, 100\.0, 330\.0\]'),
        (dict(exemplar_boxes=[[10, 10, 50, 60], [10, 90, 50, 30]]),
         'inverted exemplar box 1'),
        (dict(exemplar_boxes=[[10, 10, 50, 60]], exemplar_labels=[1, 0]),
         '1 exemplar boxes but 2 exemplar labels'),
        (dict(
            exemplar_boxes=[[10, 10, 50, 60], [60, 60, 90, 90]],
            exemplar_labels=[1]), '2 exemplar boxes but 1'),
        (dict(exemplar_boxes=[[10, 10, 50, 60]],
              exemplar_labels=[3]), 'exemplar labels must be 0 or 1'),
        (dict(exemplar_boxes=[10, 10, 50, 60, 70]), r'\[E, 4\]'),
        (dict(exemplar_boxes=[]), 'empty exemplar'),
        (dict(text='cup', exemplar_labels=[1]), 'without exemplar_boxes'),
        (dict(text='  '), 'non-empty string'),
        (dict(exemplar_boxes=[[10, 10, 700, 60]]), 'outside'),  # held before
    ])
def test_concept_prompts(image_predictor, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        image_predictor.predict_concept(**kwargs)


def test_valid_prompts_still_answer(image_predictor):
    """Positive control: the checks do not reject good prompts, and the
    answers are finite."""
    res = image_predictor.predict(
        points=[[300, 200]], labels=[1], boxes=[100, 80, 420, 330])
    assert np.isfinite(res['scores']).all()
    res = image_predictor.predict_concept(
        text='cup',
        exemplar_boxes=[[100, 80, 420, 330], [0, 0, 50, 50]],
        exemplar_labels=[1, 0],
        score_thr=0.0)
    assert len(res['scores']) > 0 and np.isfinite(res['scores']).all()
    boxes, labels = check_exemplars([1, 2, 3, 4])
    assert boxes.shape == (1, 4) and labels.tolist() == [1]
    assert check_finite(np.array([1, 2]), 'x').tolist() == [1, 2]


@pytest.fixture(scope='module')
def video_predictor():
    pred = VideoPredictor(stage2_distiller()[0].student)
    pred.init_state(SAV_VIDEO)  # 144 x 176 frames
    return pred


@pytest.mark.parametrize('kwargs,msg', [
    (dict(points=[[NAN, 10]], labels=[1]), 'points must be finite'),
    (dict(points=[[10, -INF]], labels=[1]), 'points must be finite'),
    (dict(box=[10, NAN, 50, 60]), 'box must be finite'),
    (dict(box=[NAN, NAN, NAN, NAN]), 'box must be finite'),
    (dict(mask=np.full((144, 176), NAN)), 'mask must be finite'),
    (dict(points=[[10, 10], [20, 20]], labels=[1]), '2 points but 1'),
])
def test_video_prompts(video_predictor, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        video_predictor.add_prompt(0, 5, **kwargs)
    assert 5 not in video_predictor.obj_ids  # nothing half-added
