# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import numpy as np
import pytest
import torch

from esam3.models.distillers.score_matching import match_scores
from esam3.registry import METRICS


def test_match_scores_by_hand():
    t_boxes = torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 30.],
                            [50., 50., 60., 60.]])
    t_scores = torch.tensor([0.9, 0.8, 0.1])  # third below threshold
    s_boxes = torch.tensor([[21., 20., 30., 30.], [0., 0., 10., 9.],
                            [70., 70., 80., 80.]])
    s_scores = torch.tensor([0.3, 0.4, 0.99])
    pairs = match_scores(s_scores, s_boxes, t_scores, t_boxes, 0.5)
    got = np.array(sorted(map(tuple, pairs.tolist())))
    np.testing.assert_allclose(got, [[0.3, 0.8], [0.4, 0.9]], rtol=1e-6)
    # far apart boxes do not pair
    far = match_scores(s_scores[2:], s_boxes[2:], t_scores[:1], t_boxes[:1],
                       0.5)
    assert far.shape == (0, 2)


def test_metric_by_hand():
    metric = METRICS.build(dict(type='ScoreCalibrationMetric', num_bins=2))
    metric.process(None, [
        dict(
            score_pairs=np.array([[0.3, 0.8], [0.4, 0.9]]),
            student_presence=0.5,
            teacher_presence=0.9),
        dict(
            score_pairs=np.zeros((0, 2)),
            student_presence=0.2,
            teacher_presence=0.1)
    ])
    res = metric.compute_metrics(metric.results)
    assert res == pytest.approx(
        dict(
            instance_mad=0.5,
            instance_bias=-0.5,
            presence_mad=0.25,
            presence_bias=-0.15,
            matched=2.0))
    rows = metric.reliability(np.array([[0.3, 0.8], [0.4, 0.9], [0.1, 0.2]]))
    assert [r[2] for r in rows] == [1, 2]
    assert rows[1][3:] == pytest.approx((0.85, 0.35))


def test_no_matched_instance_gives_nan_not_zero():
    metric = METRICS.build(dict(type='ScoreCalibrationMetric'))
    metric.process(None, [
        dict(
            score_pairs=np.zeros((0, 2)),
            student_presence=0.2,
            teacher_presence=0.1)
    ])
    res = metric.compute_metrics(metric.results)
    assert np.isnan(res['instance_mad']) and res['matched'] == 0
    assert res['presence_mad'] == pytest.approx(0.1)
