# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from unittest import mock

import pytest
import torch

from esam3.registry import MODELS
from distiller_fixtures import make_samples, tiny_sam3_cfg, tiny_student_cfg


def build(**kw):
    cfg = dict(type='Stage1Distiller', student=tiny_student_cfg(
        frozen_heads=['detector', 'tracker.prompt_encoder',
                      'tracker.vision_encoder']),
        teacher=dict(type='Sam3Teacher', **tiny_sam3_cfg()))
    cfg.update(kw)
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def model():
    return build()


def test_teacher_kept_out_of_state_dict_and_params(model):
    keys = list(model.state_dict())
    assert keys and all(k.startswith('student.') for k in keys)
    teacher_params = {id(p) for p in model.teacher.parameters()}
    model_params = {id(p): p for p in model.parameters()}
    # only the student's frozen head modules are shared with the teacher
    shared = teacher_params & set(model_params)
    assert shared and not any(model_params[i].requires_grad for i in shared)
    assert not any(p.requires_grad for p in model.teacher.parameters())
    separate = build(share_frozen_heads=False)
    assert not {id(p) for p in separate.teacher.parameters()} & {
        id(p) for p in separate.parameters()}


def test_student_heads_start_as_teacher_heads(model):
    s = model.student.heads.state_dict()
    for k, v in model.teacher.heads.state_dict().items():
        torch.testing.assert_close(s[k], v)


def test_train_mode_keeps_teacher_eval(model):
    model.train()
    assert model.student.training and not model.teacher.training
    model.eval()


def test_loss_terms_and_gradients_reach_only_trainable_parts(model):
    model.train()
    model.zero_grad()
    x = torch.randn(2, 3, 224, 224)
    losses = model.loss(x, make_samples())
    assert set(losses) == {'loss_feat', 'loss_dice_r0', 'loss_focal_r0',
                           'loss_dice_r1', 'loss_focal_r1'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    grads = {n: p.grad for n, p in model.student.named_parameters()}
    assert any(g is not None and g.abs().sum() > 0
               for n, g in grads.items() if n.startswith('trunk.backbone'))
    assert any(g is not None and g.abs().sum() > 0
               for n, g in grads.items() if n.startswith('trunk.neck'))
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items()
               if n.startswith('heads.tracker.mask_decoder'))
    for n, g in grads.items():
        if n.startswith(('heads.detector', 'heads.tracker.prompt_encoder',
                         'heads.tracker.vision_encoder')):
            assert g is None, n
    assert all(p.grad is None for p in model.teacher.parameters())


def test_feature_loss_ignores_padding_tokens(model):
    samples = make_samples()
    valid = model.valid_token_mask(samples, (16, 16), (224, 224), 'cpu')
    # img width 200 of 224 -> ceil(200 * 16 / 224) = 15 valid columns
    assert valid.shape == (2, 1, 16, 16)
    assert valid[0, 0, 0].sum() == 15 and valid[0, 0, :, 0].sum() == 16


def test_cached_teacher_features_skip_the_teacher_trunk(model):
    samples = make_samples()
    x = torch.randn(2, 3, 224, 224)
    cached = model.teacher.encode_trunk(x)
    for ds, feat in zip(samples, cached):
        ds.teacher_trunk = feat.half()
    with mock.patch.object(model.teacher, 'encode_trunk',
                           side_effect=AssertionError('teacher called')):
        losses = model.loss(x, samples)
    assert torch.isfinite(losses['loss_feat'])


def test_refinement_loops_add_loss_terms():
    m = build(num_refine=2)
    losses = m.loss(torch.randn(1, 3, 224, 224), make_samples(1))
    assert {'loss_dice_r0', 'loss_dice_r1', 'loss_dice_r2'} <= set(losses)


def test_predict_returns_masks_at_original_resolution(model):
    model.eval()
    out = model.predict(torch.randn(2, 3, 224, 224), make_samples())
    for ds in out:
        assert set(ds.prompt_masks) == {'box', 'point', 'point+3'}
        assert set(ds.teacher_prompt_masks) == {'box', 'point'}
        for v in ds.prompt_masks.values():
            assert v.dtype == torch.bool and v.shape == (3, 448, 400)


def test_student_equal_to_teacher_reaches_full_fidelity():
    """If the student trunk reproduces the teacher trunk exactly, student and
    teacher masks coincide for every prompt."""
    m = build()
    m.eval()
    x = torch.randn(1, 3, 224, 224)
    with mock.patch.object(m.student, 'encode_trunk',
                           side_effect=m.teacher.encode_trunk):
        out = m.predict(x, make_samples(1))[0]
    for k in ('box', 'point'):
        assert torch.equal(out.prompt_masks[k], out.teacher_prompt_masks[k])


def test_invalid_box_prob():
    with pytest.raises(ValueError, match='box_prob'):
        build(box_prob=1.5)
