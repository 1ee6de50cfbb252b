# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Light detector: the DETR encoder on a pooled level and / or fewer
layers."""
import copy
import os.path as osp
import sys

import pytest
import torch

from esam3.registry import MODELS

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.join(REPO, 'tests/test_models/test_distillers'))
from distiller_fixtures import tiny_sam3_cfg, tiny_student_cfg  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_thread')


def sam3_two_layers():
    cfg = copy.deepcopy(tiny_sam3_cfg())
    cfg['config']['detr_encoder_config']['num_layers'] = 2
    return cfg


def build(pool=2, layers=1, **kw):
    student = tiny_student_cfg(
        frozen_heads=['detector.text_encoder', 'tracker'])
    student.update(
        sam3=sam3_two_layers(),
        freeze_trunk=True,
        detr_encoder_pool=pool,
        detr_encoder_layers=layers)
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='Stage3Distiller',
            student=student,
            teacher=dict(type='Sam3Teacher', **sam3_two_layers()),
            tokenizer=dict(type='Sam3Tokenizer'),
            matcher=dict(type='HungarianMaskMatcher'),
            **kw))


def test_shapes_tokens_and_teacher_copy(red_box_sample):
    model = build().eval()
    s_enc = model.student.heads.detector.detr_encoder
    t_enc = model.teacher.heads.detector.detr_encoder
    assert len(s_enc.layers) == 1 and len(t_enc.layers) == 2
    # the kept layer starts from the teacher's first layer
    for a, b in zip(s_enc.layers[0].parameters(),
                    t_enc.layers[0].parameters()):
        torch.testing.assert_close(a, b)
    seen = {}
    for name, enc in (('student', s_enc), ('teacher', t_enc)):
        enc.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(
            name, tuple(o.last_hidden_state.shape)))
    x = torch.randn(2, 3, 224, 224)
    prompts = model.encode_prompts(
        [red_box_sample(), red_box_sample()], 224, 'cpu')
    with torch.no_grad():
        out = model._run(model.student, model.student.encode_trunk(x), prompts)
        t_out = model._run(model.teacher, model.teacher.encode_trunk(x),
                           prompts)
    # 16x16 trunk grid: the teacher's DETR reads 256 tokens, the light
    # detector 8x8 = 64
    assert seen == dict(student=(2, 64, 32), teacher=(2, 256, 32))
    for key in ('pred_masks', 'pred_boxes', 'pred_logits', 'presence_logits'):
        assert getattr(out, key).shape == getattr(t_out, key).shape
    q = tiny_sam3_cfg()['config']['detr_decoder_config']['num_queries']
    assert out.pred_masks.shape == (2, q, 64, 64)


def test_pool_only_keeps_every_layer():
    model = build(pool=2, layers=None)
    assert len(model.student.heads.detector.detr_encoder.layers) == 2


def test_distilled_from_scores_presence_boxes_masks(red_box_sample):
    model = build(distill_boxes=True, distill_score_thr=0.0)
    model.train()
    losses = model.loss(torch.randn(1, 3, 224, 224), [red_box_sample()])
    for key in ('loss_distill_cls', 'loss_distill_presence',
                'loss_distill_mask', 'loss_distill_bbox', 'loss_distill_giou'):
        value = losses[key].detach()
        assert torch.isfinite(value) and float(value) > 0, key
    sum(losses.values()).backward()
    enc = model.student.heads.detector.detr_encoder
    assert all(p.grad is not None for p in enc.parameters())


def test_bad_options_are_named():
    with pytest.raises(ValueError, match='detr_encoder_layers must be 1..2'):
        build(layers=3)
    with pytest.raises(ValueError, match='detr_encoder_pool'):
        build(pool=0)


def test_teacher_scores_reported_for_calibration(red_box_sample):
    from esam3.registry import METRICS
    model = build(report_teacher_scores=True, score_thr=0.0).eval()
    samples = model.predict(torch.randn(1, 3, 224, 224), [red_box_sample()])
    ds = samples[0]
    assert 0 <= ds.teacher_presence <= 1 and 0 <= ds.student_presence <= 1
    assert ds.score_pairs.ndim == 2 and ds.score_pairs.shape[1] == 2
    assert ds.score_pairs.shape[0] > 0  # score_thr 0: every query counts
    metric = METRICS.build(dict(type='ScoreCalibrationMetric'))
    metric.process(None, [ds.to_dict()])
    res = metric.compute_metrics(metric.results)
    assert res['matched'] == ds.score_pairs.shape[0]
    assert res['presence_mad'] == pytest.approx(
        abs(ds.student_presence - ds.teacher_presence))
