# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""VOSMetric frame conventions and DAVIS-style averaging."""
import pytest
import torch

from esam3.registry import METRICS


def _square():
    m = torch.zeros(10, 10, dtype=torch.bool)
    m[2:6, 2:6] = True
    return m


def _video_a():
    """T=3, N=1: frame 0 wrong, frame 1 exact, frame 2 missed."""
    gt = _square()[None, None].repeat(3, 1, 1, 1)
    pred = torch.zeros_like(gt)
    pred[1, 0] = gt[1, 0]
    return dict(video_id='a', pred_track_masks=pred, gt_track_masks=gt)


def _video_b(false_alarm=False):
    """T=2, N=2: object 0 absent from the GT, object 1 exact."""
    gt = torch.zeros(2, 2, 10, 10, dtype=torch.bool)
    gt[:, 1] = _square()
    pred = gt.clone()
    if false_alarm:
        pred[:, 0, 0:3, 0:3] = True
    return dict(
        video_id='b', pred_track_masks=pred.to(torch.uint8), gt_track_masks=gt)


@pytest.mark.parametrize(
    'convention,expected',
    [
        # frames 1, 2: J = (1 + 0) / 2, F = (1 + 0) / 2
        ('skip_first', 50.0),
        # frame 1 only (the DAVIS 2017 toolkit drops the first and the last)
        ('davis', 100.0),
        ('davis2017', 100.0),
        ('sav', 100.0),
        # frames 0, 1, 2: (0 + 1 + 0) / 3 (empty prediction -> F = 0)
        ('all', 100 / 3),
    ])
def test_frame_conventions(convention, expected):
    metric = METRICS.build(dict(type='VOSMetric', convention=convention))
    metric.process({}, [_video_a()])
    out = metric.evaluate(size=1)
    assert out['J'] == pytest.approx(expected)
    assert out['F'] == pytest.approx(expected)
    assert out['J&F'] == pytest.approx(expected)


def test_mean_over_objects_and_empty_gt():
    metric = METRICS.build(dict(type='VOSMetric', convention='skip_first'))
    metric.process({}, [_video_a(), _video_b()])
    assert all(isinstance(v, float) for r in metric.results for v in r['J'])
    out = metric.evaluate(size=2)
    # objects: a0 = .5 ; b0 = 1 (GT and prediction empty: DAVIS -> 1) ;
    # b1 = 1 -> mean over the 3 objects = 2.5 / 3 (mean over videos = .75)
    assert out['J'] == pytest.approx(100 * 2.5 / 3)
    assert out['J&F'] == pytest.approx(100 * 2.5 / 3)
    metric = METRICS.build(dict(type='VOSMetric', convention='all'))
    metric.process({}, [_video_b(false_alarm=True)])
    # object 0: prediction where the GT is empty -> J = 0, F = 0 (P=0, R=1)
    out = metric.evaluate(size=1)
    assert out['J'] == pytest.approx(50.0) and out['F'] == pytest.approx(50.)


def test_default_is_davis_toolkit_frames():
    metric = METRICS.build(dict(type='VOSMetric'))
    assert metric.frame_indices(5) == [1, 2, 3]
    # a 2-frame video has no frame left: skipped with a log, no score
    metric.process({}, [_video_b()])
    assert metric.results[0]['J'] == []


def test_bad_inputs():
    with pytest.raises(ValueError, match='convention'):
        METRICS.build(dict(type='VOSMetric', convention='mose'))
    metric = METRICS.build(dict(type='VOSMetric'))
    sample = _video_a()
    sample['pred_track_masks'] = sample['pred_track_masks'][:, :, :5]
    with pytest.raises(ValueError, match=r'\[T, N, H, W\]'):
        metric.process({}, [sample])
