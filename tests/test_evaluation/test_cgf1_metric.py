# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""CGF1Metric (SA-Co cgF1 = 100 * pmF1 * IL_MCC) on hand-made pairs."""
import math

import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from esam3.registry import METRICS


def _mask(y0, y1, x0, x1):
    m = torch.zeros(10, 10, dtype=torch.bool)
    m[y0:y1, x0:x1] = True
    return m


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.numpy().astype(np.uint8)))
    rle['counts'] = rle['counts'].decode()
    return rle


def _pair(gts, preds, scores, presence=None, img_id=0):
    """gts: list of masks; preds: list of masks; scores: list of floats."""
    sample = DetDataSample(
        metainfo=dict(
            img_id=img_id,
            ori_shape=(10, 10),
            text='thing',
            gt_rles=[_rle(g) for g in gts],
            is_negative=len(gts) == 0))
    masks = torch.stack(preds) if preds else \
        torch.zeros(0, 10, 10, dtype=torch.bool)
    sample.pred_instances = InstanceData(
        masks=masks, scores=torch.tensor(scores, dtype=torch.float32))
    if presence is not None:
        sample.presence_score = presence
    return sample.to_dict()


A, B, C = _mask(0, 5, 0, 10), _mask(6, 10, 0, 4), _mask(6, 10, 6, 10)


def _run(pairs, **kwargs):
    metric = METRICS.build(dict(type='CGF1Metric', **kwargs))
    metric.process({}, pairs)
    return metric.evaluate(size=len(pairs))


def test_all_correct_is_100():
    out = _run([
        _pair([A], [A], [0.9]),
        _pair([B, C], [C, B], [0.8, 0.7]),
        _pair([], [A], [0.3]),  # below the 0.5 threshold: true negative
        _pair([], [], []),
    ])
    # IL: TP 2, TN 2 -> MCC 1 ; pmF1 1 at every IoU threshold
    assert out['cgF1'] == pytest.approx(100.0)
    assert out['IL_MCC'] == pytest.approx(1.0)
    assert out['pmF1'] == pytest.approx(100.0)
    assert out['positive_pairs'] == 2 and out['negative_pairs'] == 2


def test_all_missed_is_0():
    out = _run([
        _pair([A], [A], [0.2]),  # right mask, score too low
        _pair([B], [], []),
        _pair([], [], []),
    ])
    # IL: FN 2, TN 1 -> MCC numerator 0*1 - 0*2 = 0 ; pmF1 = 0
    assert out['cgF1'] == 0.0 and out['IL_MCC'] == 0.0
    assert out['pmF1'] == 0.0


def test_false_positives_on_negatives_lower_il_mcc():
    out = _run([
        _pair([A], [A], [0.9]),
        _pair([B], [B], [0.9]),
        _pair([], [C], [0.8]),  # false alarm on a negative pair
        _pair([], [], []),
    ])
    # IL: TP 2, FP 1, TN 1, FN 0 -> (2*1 - 0) / sqrt(3 * 2 * 2 * 1)
    mcc = 2 / math.sqrt(12)
    assert out['IL_MCC'] == pytest.approx(mcc)
    assert out['pmF1'] == pytest.approx(100.0)  # negatives don't enter pmF1
    assert out['cgF1'] == pytest.approx(100 * mcc)


def test_hand_computed_mixed_case():
    gt_72 = _mask(0, 3, 0, 10)  # 30 px
    gt_72[3, :6] = True  # 36 px, inside A (50 px): IoU(A, gt) = .72
    pairs = [
        # pair 1: 1 GT; A matches it at IoU .72 + a far false positive C
        _pair([gt_72], [C, A], [0.9, 0.9]),
        # pair 2: 2 GTs, 1 exact prediction
        _pair([A, B], [B], [0.9]),
        # pair 3: negative with a kept false positive
        _pair([], [A], [0.6]),
        # pair 4: negative, nothing predicted
        _pair([], [], []),
        # pair 5: positive, prediction below threshold
        _pair([C], [C], [0.4]),
    ]
    out = _run(pairs)
    # IL: TP 2 (1, 2), FP 1 (3), TN 1 (4), FN 1 (5)
    #   MCC = (2*1 - 1*1) / sqrt((2+1)(2+1)(1+1)(1+1)) = 1/6
    assert out['IL_MCC'] == pytest.approx(1 / 6)
    # IoU thresholds .5 .55 .6 .65 .7 (IoU .72 passes):
    #   TP = 1 + 1 = 2, FP = 1 + 0 = 1, FN = 0 + 1 + 1 = 2
    #   F1 = 2*2 / (2*2 + 1 + 2) = 4/7
    # thresholds .75 ... .95:
    #   TP = 0 + 1 = 1, FP = 2 + 0 = 2, FN = 1 + 1 + 1 = 3 -> 2/7
    # pmF1 = mean = (5 * 4/7 + 5 * 2/7) / 10 = 3/7
    assert out['pmF1'] == pytest.approx(100 * 3 / 7)
    assert out['pmF1@0.5'] == pytest.approx(100 * 4 / 7)
    assert out['pmF1@0.75'] == pytest.approx(100 * 2 / 7)
    # cgF1 = 100 * 1/6 * 3/7 = 100/14
    assert out['cgF1'] == pytest.approx(100 / 14)
    assert out['positive_pairs'] == 3 and out['negative_pairs'] == 2


def test_presence_score_gates_predictions():
    pairs = [_pair([A], [A], [0.9], presence=0.5), _pair([], [], [])]
    # .9 * .5 = .45 < .5 -> nothing kept: IL FN + TN -> cgF1 0
    assert _run(pairs)['cgF1'] == 0.0
    assert _run(pairs, multiply_presence=False)['cgF1'] == \
        pytest.approx(100.0)


def test_negative_with_gt_is_an_error():
    sample = _pair([A], [A], [0.9])
    sample['is_negative'] = True
    metric = METRICS.build(dict(type='CGF1Metric'))
    with pytest.raises(ValueError, match='is_negative'):
        metric.process({}, [sample])
