# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from unittest import mock

import pytest
import torch
from distiller_fixtures import make_samples, tiny_sam3_cfg, tiny_student_cfg

from esam3.models.distillers.stage1_distiller import Stage1Distiller
from esam3.registry import MODELS


def build(**kw):
    cfg = dict(
        type='Stage1Distiller',
        student=tiny_student_cfg(frozen_heads=[
            'detector', 'tracker.prompt_encoder', 'tracker.vision_encoder'
        ]),
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
    assert not {id(p)
                for p in separate.teacher.parameters()
                } & {id(p)
                     for p in separate.parameters()}


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
    assert set(losses) == {
        'loss_feat', 'loss_dice_r0', 'loss_focal_r0', 'loss_iou_r0',
        'loss_dice_r1', 'loss_focal_r1', 'loss_iou_r1'
    }
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    grads = {n: p.grad for n, p in model.student.named_parameters()}
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items()
               if n.startswith('trunk.backbone'))
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items()
               if n.startswith('trunk.neck'))
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items()
               if n.startswith('heads.tracker.mask_decoder'))
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items()
               if 'iou_prediction_head' in n)
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
    with mock.patch.object(
            model.teacher,
            'encode_trunk',
            side_effect=AssertionError('teacher called')):
        losses = model.loss(x, samples)
    assert torch.isfinite(losses['loss_feat'])


def test_refinement_loops_add_loss_terms():
    m = build(num_refine=2)
    losses = m.loss(torch.randn(1, 3, 224, 224), make_samples(1))
    assert {'loss_dice_r0', 'loss_dice_r1', 'loss_dice_r2'} <= set(losses)


def test_prompt_loop_starts_at_the_configured_iteration(model):
    """Before ``prompt_loop_start`` (the Runner's iteration in the MessageHub)
    only the feature term is computed and the decoder is never run; from it on
    the mask / IoU losses join; None never runs them."""
    from mmengine.logging import MessageHub
    x = torch.randn(1, 3, 224, 224)
    hub = MessageHub.get_current_instance()
    model.prompt_loop_start = 5
    try:
        with mock.patch.object(
                model.student.heads,
                'decode_prompts',
                side_effect=AssertionError('decoded')):
            hub.update_info('iter', 4)
            assert set(model.loss(x, make_samples(1))) == {'loss_feat'}
            model.prompt_loop_start = None
            hub.update_info('iter', 100)
            assert set(model.loss(x, make_samples(1))) == {'loss_feat'}
        model.prompt_loop_start = 5
        hub.update_info('iter', 5)
        assert {'loss_feat', 'loss_dice_r0',
                'loss_iou_r0'} <= set(model.loss(x, make_samples(1)))
    finally:
        model.prompt_loop_start = 0
        hub.update_info('iter', 0)
    with pytest.raises(ValueError, match='>= 0 or None'):
        build(prompt_loop_start=-1)
    with pytest.raises(ValueError, match='needs loss_feat'):
        build(prompt_loop_start=None, loss_feat=None)


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
    with mock.patch.object(
            m.student, 'encode_trunk', side_effect=m.teacher.encode_trunk):
        out = m.predict(x, make_samples(1))[0]
    for k in ('box', 'point'):
        assert torch.equal(out.prompt_masks[k], out.teacher_prompt_masks[k])


def test_invalid_box_prob():
    with pytest.raises(ValueError, match='box_prob'):
        build(box_prob=1.5)
    with pytest.raises(ValueError, match='mask_tokens'):
        build(mask_tokens='best')


@pytest.mark.parametrize('esam3_losses', [False, True])
def test_mask_losses_ignore_padding(model, esam3_losses):
    """Student and teacher agree on the image and disagree only on the
    padding: with the valid region the mask losses vanish (mmdet's losses,
    the defaults, and esam3's, which take a pixel mask)."""
    if esam3_losses:
        model = build(
            loss_dice=dict(type='DiceLoss'),
            loss_focal=dict(type='SigmoidFocalLoss', loss_weight=20.0))
    assert ('mmdet' in type(model.loss_dice).__module__) != esam3_losses
    t = torch.full((1, 1, 2, 8, 8), 10.)
    s = t.clone()
    s[..., 6:] = -10.  # columns 6, 7 are padding
    valid = torch.ones(1, 1, dtype=torch.bool)
    px = torch.ones(1, 1, 8, 8)
    px[..., 6:] = 0
    masked = model._mask_losses(s, t, valid, px, 'x')
    full = model._mask_losses(s, t, valid, torch.ones_like(px), 'x')
    assert masked['loss_dice_x'] < 1e-3 and masked['loss_focal_x'] < 1e-3
    assert full['loss_dice_x'] > 0.1 and full['loss_focal_x'] > 0.1
    # on the valid pixels the loss is that of the valid crop alone
    s2 = s.clone()
    s2[..., :6] = -3.  # now they disagree on the image
    masked = model._mask_losses(s2, t, valid, px, 'x')
    crop = model._mask_losses(s2[..., :6], t[..., :6], valid,
                              torch.ones_like(px[..., :6]), 'x')
    for k in masked:
        torch.testing.assert_close(masked[k], crop[k])


def test_all_mask_tokens_and_iou_distilled(model):
    """4 tokens per prompt (single + multimask) enter the mask losses; the IoU
    loss is the MSE of the 4 predicted IoUs against the teacher's; corrective
    clicks never land on padding."""
    from esam3.models.utils import prompts as P
    seen = {}
    mask_losses, sample = model._mask_losses, P.sample_corrective_points

    def spy_masks(s, t, valid, px, tag):
        seen.setdefault('k', s.shape[2])
        return mask_losses(s, t, valid, px, tag)

    def spy_click(pred, target, *a, **k):
        seen['pred'], seen['target'] = pred, target
        return sample(pred, target, *a, **k)

    model.train()
    with mock.patch.object(model, '_mask_losses', side_effect=spy_masks), \
            mock.patch.object(P, 'sample_corrective_points',
                              side_effect=spy_click):
        losses = model.loss(torch.randn(2, 3, 224, 224), make_samples())
    assert seen['k'] == 4
    # img_shape (224, 200): columns >= ceil(200 * 64 / 224) = 58 of the
    # 64 x 64 low-res masks are padding
    for m in (seen['pred'], seen['target']):
        assert m.shape[-1] == 64 and not m[..., 58:].any()
    assert losses['loss_iou_r0'] > 0
    single = build(mask_tokens='single', loss_iou=None)
    with mock.patch.object(
            single,
            '_mask_losses',
            side_effect=lambda *a: seen.update(k1=a[0].shape[2]) or {}):
        out = single.loss(torch.randn(1, 3, 224, 224), make_samples(1))
    assert seen['k1'] == 1 and not any('iou' in k for k in out)


def test_click_mask_is_the_teachers_best_multimask_token():
    from types import SimpleNamespace as NS
    single_s = NS(pred_masks=torch.zeros(1, 2, 1, 4, 4))
    single_t = NS(pred_masks=torch.zeros(1, 2, 1, 4, 4))
    masks = torch.arange(3.).view(1, 1, 3, 1, 1).expand(1, 2, 3, 4, 4)
    multi_s = NS(
        pred_masks=masks + 10,
        iou_scores=torch.tensor([[[.9, .1, .1], [.9, .1, .1]]]))
    multi_t = NS(
        pred_masks=masks + 20,
        iou_scores=torch.tensor([[[.1, .2, .8], [.1, .2, .8]]]))
    # prompt 0: one positive click; prompt 1: a box (2 corners)
    lbl = torch.tensor([[[1, -10], [2, 3]]])
    s, t = Stage1Distiller._click_masks([(single_s, single_t),
                                         (multi_s, multi_t)], lbl)
    assert (s[0, 0] == 12).all() and (t[0, 0] == 22).all()  # token 2
    assert (s[0, 1] == 0).all() and (t[0, 1] == 0).all()  # single mask


def test_video_teacher_neck_distils_the_video_branch(tmp_path):
    from distiller_fixtures import REPO
    from mmengine.config import Config

    from esam3.models.necks.neck_levels import NeckLevels
    from esam3.models.teachers.sam3_video_teacher import Sam3VideoTeacher
    tiny = Config.fromfile(REPO + '/configs/_base_/models/sam3_tiny.py')
    vcfg = Config.fromfile(
        REPO + '/configs/_base_/models/sam3_video_tiny.py').video_tracker_cfg
    teacher = MODELS.build(dict(type='Sam3Teacher', **tiny_sam3_cfg()))
    video = Sam3VideoTeacher(config=vcfg.config.to_dict())
    student = dict(
        type='EfficientSAM3',
        sam3=tiny_sam3_cfg(),
        frozen_heads=['detector', 'tracker'],
        trunk=dict(
            type='StudentTrunk',
            backbone=dict(type='TimmBackbone', model_name='efficientvit_b0'),
            neck=tiny.student_neck))
    weights = dict(video=(0.1, 0.1, 1.0), tracker=(0.1, 0.1, 1.0))
    # another trunk: its neck levels would not fit the teacher trunk
    with pytest.raises(ValueError, match='trunk differs'):
        build(
            student=student,
            teacher=teacher,
            video_teacher=video,
            feat_level_weights=weights)
    video.tracker.vision_encoder.backbone.load_state_dict(
        teacher.trunk.state_dict())
    model = build(
        student=student,
        teacher=teacher,
        video_teacher=video,
        feat_level_weights=weights)
    assert not any('video_teacher' in k for k in model.state_dict())
    x = torch.randn(2, 3, 224, 224)
    t_trunk = model.teacher.encode_trunk(x)
    feats = model.extract_feat(x)
    assert isinstance(feats, NeckLevels)
    losses = model.feature_losses(feats, t_trunk, make_samples(2), (224, 224))
    assert {f'loss_feat_video{i}' for i in range(3)} <= set(losses)
    t_video = model.teacher_levels(t_trunk, 'video')
    assert [tuple(t.shape[1:]) for t in t_video] == \
        [tuple(s.shape[1:]) for s in feats.levels('video')]
    # without a video teacher 'video' is an unknown neck
    with pytest.raises(ValueError, match='video_teacher'):
        build(student=student, teacher=teacher, feat_level_weights=weights)
