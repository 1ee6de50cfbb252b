# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Stage 3 with a light text student instead of SAM3's CLIP."""
import sys

import pytest
import torch
from text_fixtures import REPO, tiny_sam3_cfg, tiny_text_student
from transformers import Sam3LiteTextTextModel

from esam3.registry import MODELS
from esam3.utils.checkpoint import load_state_dict_checked

sys.path.insert(0, f'{REPO}/tests/test_models/test_distillers')
from distiller_fixtures import tiny_student_cfg  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_thread')


def student_cfg(**text_kw):
    cfg = tiny_student_cfg(frozen_heads=['detector.text_encoder', 'tracker'])
    cfg['freeze_trunk'] = True
    cfg['text_student'] = tiny_text_student(**text_kw)
    return cfg


def build(**text_kw):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='Stage3Distiller',
            student=student_cfg(**text_kw),
            teacher=dict(type='Sam3Teacher', **tiny_sam3_cfg()),
            tokenizer=dict(type='Sam3Tokenizer'),
            matcher=dict(type='HungarianMaskMatcher')))


def test_text_student_replaces_clip_and_keeps_its_weights(tmp_path):
    torch.manual_seed(3)
    text = MODELS.build(tiny_text_student())
    torch.save(
        dict(state_dict={
            f'student.{k}': v
            for k, v in text.state_dict().items()
        }), tmp_path / 'text.pth')
    model = build(pretrained=str(tmp_path / 'text.pth'))
    det = model.student.heads.detector
    assert isinstance(det.text_encoder, Sam3LiteTextTextModel)
    # loaded weights survive the copy of the teacher's heads ...
    torch.testing.assert_close(det.text_projection.weight,
                               text.text_projection.weight)
    # ... and the teacher keeps its own CLIP (never shared)
    t_det = model.teacher.heads.detector
    assert type(t_det.text_encoder).__name__ == \
        'CLIPTextModelWithProjection'
    assert t_det.text_projection is not det.text_projection
    # the other frozen heads are still shared
    assert model.teacher.heads.tracker is model.student.heads.tracker
    # frozen text encoder; the projection trains as SAM3's does in Stage 3
    assert not any(p.requires_grad for p in det.text_encoder.parameters())
    assert det.text_projection.weight.requires_grad


def test_stage3_loss_and_strict_round_trip(red_box_sample):
    model = build()
    model.train()
    x = torch.randn(1, 3, 224, 224)
    losses = model.loss(x, [red_box_sample()])
    assert all(torch.isfinite(v) for v in losses.values())
    assert 'loss_distill_cls' in losses
    sum(losses.values()).backward()
    det = model.student.heads.detector
    assert det.text_projection.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in det.text_encoder.parameters())
    # a Stage 3 checkpoint of this student loads strictly into a fresh one
    state = model.student.state_dict()
    assert any(
        k.startswith('heads.detector.text_encoder.layers.') for k in state)
    fresh = MODELS.build(student_cfg())
    load_state_dict_checked(fresh, state, 'stage 3 student')
    # and not into a student with SAM3's CLIP
    clip = student_cfg()
    clip.pop('text_student')
    with pytest.raises(Exception, match='text_encoder'):
        load_state_dict_checked(MODELS.build(clip), state, 'stage 3 student')


def test_text_student_width_must_match_the_heads():
    cfg = student_cfg(out_channels=16)
    with pytest.raises(ValueError, match='read 32'):
        MODELS.build(cfg)


def test_concept_light_tiny_config_builds():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('esam3')
    cfg = Config.fromfile(f'{REPO}/configs/concept_light/tiny.py')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    heads = model.student.heads
    assert isinstance(heads.detector.text_encoder, Sam3LiteTextTextModel)
    assert heads.detr_encoder_pool == 2
    assert model.distill_boxes and model.report_teacher_scores
    assert [e['type'] for e in cfg.val_evaluator
            ] == ['CGF1Metric', 'ScoreCalibrationMetric']
    # the real-size text config describes a ~42.5M student (meta device)
    real = Config.fromfile(f'{REPO}/configs/text_distill/mobileclip_s0.py')
    with torch.device('meta'):
        text = MODELS.build(real.model.student)
    n = sum(p.numel() for p in text.parameters()) / 1e6
    assert 42 < n < 43 and text.out_channels == 256
