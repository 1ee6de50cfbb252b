# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement
from pycocotools import mask as mask_utils

from esam3.evaluation.functional import masklet_iou
from esam3.evaluation.metrics import VideoCGF1Metric

H = W = 10


def box(y0, y1, x0, x1):
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def rle(m):
    return None if m is None or not m.any() else mask_utils.encode(
        np.asfortranarray(m.astype(np.uint8)))


def test_masklet_iou_sums_over_frames():
    # frame 0: dt 4x4 = 16 px, gt same -> inter 16, union 16
    # frame 1: dt 4x4, gt 4x2 inside it -> inter 8, union 16
    # frame 2: dt absent, gt 2x2 -> inter 0, union 4
    dt = [[rle(box(0, 4, 0, 4)), rle(box(0, 4, 0, 4)), None]]
    gt = [[rle(box(0, 4, 0, 4)), rle(box(0, 4, 0, 2)), rle(box(5, 7, 5, 7))]]
    iou = masklet_iou(dt, gt)
    assert iou.shape == (1, 1)
    assert iou[0, 0] == pytest.approx((16 + 8) / (16 + 16 + 4))


def test_masklet_iou_disjoint_and_frame_count_check():
    dt = [[rle(box(0, 2, 0, 2)), None]]
    gt = [[rle(box(5, 7, 5, 7)), rle(box(0, 2, 0, 2))]]
    assert masklet_iou(dt, gt)[0, 0] == 0.0
    with pytest.raises(ValueError, match='different frame counts'):
        masklet_iou(dt, [[None]])


def sample(pred, scores, gt, negative=False):
    s = BaseDataElement(metainfo=dict(is_negative=negative, video_id='v'))
    s.pred_masklets = pred
    s.pred_masklet_scores = torch.tensor(scores, dtype=torch.float32)
    s.gt_masklet_rles = gt
    return s


def run(samples):
    m = VideoCGF1Metric(score_thr=0.5)
    m.process({}, samples)
    return m.compute_metrics(m.results)


def masklets(*per_obj):
    """Bool [M, T, H, W] from per-object lists of frame masks."""
    return torch.from_numpy(
        np.stack([np.stack(o) for o in per_obj]).astype(bool))


def test_perfect_video_pairs_give_100():
    a = [box(0, 4, 0, 4), box(1, 5, 1, 5)]
    b = [box(6, 9, 6, 9), np.zeros((H, W), np.uint8)]  # leaves frame 1
    gt = [[rle(m) for m in a], [rle(m) for m in b]]
    res = run([
        sample(masklets(a, b), [0.9, 0.8], gt),
        sample(
            torch.zeros(0, 2, H, W, dtype=torch.bool), [], [], negative=True)
    ])
    assert res['cgF1'] == pytest.approx(100.0)
    assert res['IL_MCC'] == pytest.approx(1.0)


def test_missed_and_false_positive_pairs():
    a = [box(0, 4, 0, 4), box(1, 5, 1, 5)]
    gt = [[rle(m) for m in a]]
    # positive pair missed (masklet below the score threshold), negative
    # pair with a confident masklet
    res = run([
        sample(masklets(a), [0.2], gt),
        sample(masklets(a), [0.9], [], negative=True)
    ])
    assert res['pmF1'] == 0.0 and res['cgF1'] == 0.0
    assert res['IL_MCC'] < 0  # FN + FP, no TP / TN


def test_half_right_masklet_counts_up_to_its_iou():
    # frame 0 exact, frame 1 predicted absent -> IoU 16 / 32 = 0.5:
    # a TP at 0.5 only, so pmF1 = 100 / 10 thresholds = 10
    a = [box(0, 4, 0, 4), box(0, 4, 0, 4)]
    pred = [box(0, 4, 0, 4), np.zeros((H, W), np.uint8)]
    res = run([
        sample(masklets(pred), [0.9], [[rle(m) for m in a]]),
        sample(
            torch.zeros(0, 2, H, W, dtype=torch.bool), [], [], negative=True)
    ])
    assert res['pmF1@0.5'] == pytest.approx(100.0)
    assert res['pmF1@0.75'] == 0.0
    assert res['pmF1'] == pytest.approx(10.0)
    assert res['IL_MCC'] == pytest.approx(1.0)


def test_negative_with_gt_is_rejected():
    gt = [[rle(box(0, 2, 0, 2))]]
    with pytest.raises(ValueError, match='is_negative'):
        run([
            sample(
                torch.zeros(0, 1, H, W, dtype=torch.bool), [],
                gt,
                negative=True)
        ])
