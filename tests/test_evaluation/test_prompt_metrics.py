# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""PromptMIoUMetric and TeacherFidelityMetric on hand-made instances."""
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmdet.structures import DetDataSample

from esam3.registry import METRICS


def _mask(y0, y1, x0, x1, h=10, w=10):
    m = torch.zeros(h, w, dtype=torch.bool)
    m[y0:y1, x0:x1] = True
    return m


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.numpy().astype(np.uint8)))
    rle['counts'] = rle['counts'].decode()
    return rle


def _samples():
    gt1 = _mask(0, 5, 0, 10)  # 50 px
    gt2 = _mask(0, 10, 0, 2)  # 20 px
    gt3 = _mask(0, 10, 0, 10)  # 100 px (second image)
    s1 = DetDataSample(
        metainfo=dict(
            img_id=1, ori_shape=(10,
                                 10), gt_rles=[_rle(gt1), _rle(gt2)]))
    s1.prompt_masks = {
        # box: exact (1.0) ; cols 0-3 (40 px) around gt2 -> 20/40 = .5
        'box': torch.stack([gt1, _mask(0, 10, 0, 4)]),
        # point: rows 0-1 inside gt1 -> 20/50 = .4 ; exact -> 1.0
        'point': torch.stack([_mask(0, 2, 0, 10), gt2]),
    }
    s1.teacher_prompt_masks = {
        # teacher equals the student's box masks except instance 2 = gt2
        'box': torch.stack([gt1, gt2]),
    }
    s2 = DetDataSample(
        metainfo=dict(img_id=2, ori_shape=(10, 10), gt_rles=[_rle(gt3)]))
    s2.prompt_masks = {'box': _mask(0, 5, 0, 10)[None]}  # 50/100 = .5
    return [s1, s2]


def test_prompt_miou_hand_values():
    metric = METRICS.build(dict(type='PromptMIoUMetric'))
    metric.process({}, [s.to_dict() for s in _samples()])
    # only numbers are stored, never masks
    for res in metric.results:
        for values in res['ious'].values():
            assert all(isinstance(v, float) for v in values)
    out = metric.evaluate(size=2)
    # box: mean over the 3 instances (1 + .5 + .5) / 3 (not over images)
    assert out['mIoU/box'] == pytest.approx(100 * 2 / 3)
    # point: (.4 + 1) / 2
    assert out['mIoU/point'] == pytest.approx(70.0)
    assert list(out) == ['mIoU/box', 'mIoU/point']


def test_prompt_miou_modes_and_errors():
    metric = METRICS.build(dict(type='PromptMIoUMetric', modes=['point']))
    metric.process({}, _samples())  # data elements work too
    assert metric.evaluate(size=2) == {'mIoU/point': pytest.approx(70.0)}
    bad = _samples()[0]
    bad.prompt_masks = {'box': _mask(0, 5, 0, 10)[None]}  # 1 mask, 2 GTs
    metric = METRICS.build(dict(type='PromptMIoUMetric'))
    with pytest.raises(ValueError, match='differ'):
        metric.process({}, [bad.to_dict()])


def test_teacher_fidelity_hand_values():
    metric = METRICS.build(dict(type='TeacherFidelityMetric'))
    metric.process({}, [s.to_dict() for s in _samples()])
    out = metric.evaluate(size=2)
    # only sample 1 box mode has teacher masks:
    # instance 1 identical (1.0); instance 2 cols 0-3 vs cols 0-1 (.5)
    assert out == {'fidelity/box': pytest.approx(75.0)}
