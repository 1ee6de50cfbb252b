# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import copy

import numpy as np
import pytest
import torch
from distiller_fixtures import tiny_sam3_cfg, tiny_student_cfg
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData

from esam3.models.distillers.outputs import boxes_to_original
from esam3.registry import MODELS


def build(**kw):
    student = tiny_student_cfg(
        frozen_heads=['detector.text_encoder', 'tracker'])
    student['freeze_trunk'] = True
    cfg = dict(
        type='Stage3Distiller',
        student=student,
        teacher=dict(type='Sam3Teacher', **tiny_sam3_cfg()),
        tokenizer=dict(type='Sam3Tokenizer'),
        matcher=dict(
            type='HungarianMaskMatcher',
            cost_cls=2.0,
            cost_box=5.0,
            cost_giou=2.0))
    cfg.update(kw)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def concept_sample(text, n_inst, negative=False, exemplars=0, size=224):
    m = np.zeros((n_inst, size, size), np.uint8)
    boxes = []
    for i in range(n_inst):
        y0, x0 = 20 + 60 * i, 30 + 40 * i
        m[i, y0:y0 + 40, x0:x0 + 30] = 1
        boxes.append([x0, y0, x0 + 30, y0 + 40])
    ds = DetDataSample(
        metainfo=dict(
            text=text,
            is_negative=negative,
            label=3,
            img_shape=(size, size),
            ori_shape=(size * 2, size * 2),
            pad_shape=(size, size),
            scale_factor=(0.5, 0.5),
            flip=False,
            img_id=0,
            exemplar_boxes=torch.tensor(
                boxes[:exemplars], dtype=torch.float32).reshape(-1, 4)))
    ds.gt_instances = InstanceData(
        masks=BitmapMasks(m, size, size),
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        labels=torch.zeros(n_inst, dtype=torch.long))
    return ds


@pytest.fixture(scope='module')
def model():
    return build()


def test_losses_and_gradient_flow(model):
    model.train()
    model.zero_grad()
    samples = [
        concept_sample('cat', 2, exemplars=1),
        concept_sample('dog', 0, negative=True)
    ]
    losses = model.loss(torch.randn(2, 3, 224, 224), samples)
    expected = {
        'loss_presence', 'loss_cls', 'loss_bbox', 'loss_giou',
        'loss_mask_dice', 'loss_mask_focal', 'loss_distill_cls',
        'loss_distill_presence', 'loss_distill_mask'
    }
    assert set(losses) == expected
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    named = dict(model.student.named_parameters())
    # encoder frozen by default, text encoder frozen
    assert all(p.grad is None for n, p in named.items()
               if n.startswith('trunk.'))
    assert all(p.grad is None for n, p in named.items()
               if n.startswith('heads.detector.text_encoder'))
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for n, p in named.items()
               if n.startswith('heads.detector.detr_decoder'))
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for n, p in named.items()
               if n.startswith('heads.detector.mask_decoder'))


def test_all_negative_batch_is_finite(model):
    samples = [concept_sample('zebra', 0, negative=True)]
    losses = model.loss(torch.randn(1, 3, 224, 224), samples)
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_bbox'].item() == 0.0


def test_exemplar_boxes_become_normalised_cxcywh(model):
    s = concept_sample('cat', 2, exemplars=2)
    ids, mask, boxes, labels = model.encode_prompts([s], 224, 'cpu')
    assert ids.shape == (1, 32) and mask.shape == (1, 32)
    # first instance box xyxy (30, 20, 60, 60) -> cx 45, cy 40, w 30, h 40
    torch.testing.assert_close(boxes[0, 0],
                               torch.tensor([45, 40, 30, 40]) / 224.)
    assert labels.tolist() == [[1, 1]]


def test_no_distillation_without_teacher_weight():
    m = build(distill_weight=0.0)
    losses = m.loss(torch.randn(1, 3, 224, 224), [concept_sample('cat', 1)])
    assert not any(k.startswith('loss_distill') for k in losses)


def test_predict_outputs_in_original_coordinates(model):
    model.eval()
    m = copy.deepcopy(model)
    m.score_thr = 0.0  # keep every query to check shapes
    out = m.predict(torch.randn(1, 3, 224, 224), [concept_sample('cat', 1)])[0]
    inst = out.pred_instances
    assert inst.masks.shape[1:] == (448, 448) and inst.masks.dtype == \
        torch.bool
    assert inst.bboxes.shape == (len(inst), 4)
    assert (inst.bboxes[:, 2:] <= 448).all() and (inst.bboxes >= 0).all()
    assert (inst.labels == 3).all()
    assert 0.0 <= out.presence_score <= 1.0
    scores = inst.scores
    assert torch.all(scores[:-1] >= scores[1:])


def test_boxes_to_original_undoes_resize_and_flip():
    meta = dict(
        scale_factor=(0.5, 0.25),
        flip=True,
        img_shape=(100, 200),
        ori_shape=(400, 400))
    boxes = torch.tensor([[10., 20., 50., 60.]]) / 224
    out = boxes_to_original(boxes, meta, 224)
    # flip within width 200: x1' = 200 - 50, x2' = 200 - 10; then / scale
    torch.testing.assert_close(out, torch.tensor([[300., 80., 380., 240.]]))


def tiny_stage3_config():
    """configs/stage3/tiny.py, with esam3 as the registry scope (its model
    config names the data preprocessor without a scope)."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('esam3')
    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))
    return Config.fromfile(osp.join(repo, 'configs', 'stage3', 'tiny.py'))


def _distinct_params(module):
    return {id(p): p.numel() for p in module.parameters()}


def test_frozen_heads_are_held_once_and_stay_in_eval():
    shared = build()
    separate = build(share_frozen_heads=False)
    s_heads, t_heads = shared.student.heads, shared.teacher.heads
    # the frozen text encoder and tracker are one object in both models
    assert t_heads.detector.text_encoder is s_heads.detector.text_encoder
    assert t_heads.tracker is s_heads.tracker
    # trained parts are not shared
    assert t_heads.detector.detr_decoder is not s_heads.detector.detr_decoder
    assert not any(p.requires_grad for p in t_heads.parameters()
                   if id(p) not in _distinct_params(s_heads))
    both = {**_distinct_params(s_heads), **_distinct_params(t_heads)}
    both_sep = {
        **_distinct_params(separate.student.heads),
        **_distinct_params(separate.teacher.heads)
    }
    text = sum(p.numel() for p in s_heads.detector.text_encoder.parameters())
    tracker = sum(p.numel() for p in s_heads.tracker.parameters())
    assert sum(both_sep.values()) - sum(both.values()) == text + tracker
    # frozen modules stay in eval mode while the student trains
    shared.train()
    assert not s_heads.detector.text_encoder.training
    assert not s_heads.tracker.training
    assert s_heads.detector.detr_decoder.training
    # the teacher computes what its own copy computed
    ids = torch.randint(0, 1000, (2, 32))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        a = shared.teacher.heads.detector.get_text_features(
            input_ids=ids, attention_mask=mask)
        b = separate.teacher.heads.detector.get_text_features(
            input_ids=ids, attention_mask=mask)
    a = getattr(a, 'pooler_output', a)
    b = getattr(b, 'pooler_output', b)
    torch.testing.assert_close(a, b)


def test_trunk_trainable_trains_only_the_named_encoder_parts():
    """configs/stage3/tiny.py (light neck) with the concept levels of the
    neck trainable: they get gradient, the backbone and the other levels do
    not, and the frozen encoder stays in eval mode."""
    cfg = tiny_stage3_config()
    cfg.model.student.trunk_trainable = ['neck.outputs.detector']
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    samples = [concept_sample('cat', 2), concept_sample('dog', 1)]
    losses = model.loss(torch.randn(2, 3, 224, 224), samples)
    sum(losses.values()).backward()
    trunk = model.student.trunk
    assert not trunk.training
    grads = {n: p.grad for n, p in trunk.named_parameters()}
    det = [n for n in grads if n.startswith('neck.outputs.detector.')]
    assert det and all(
        grads[n] is not None and grads[n].abs().sum() > 0 for n in det
        if n.endswith('weight'))
    assert all(g is None for n, g in grads.items()
               if not n.startswith('neck.outputs.detector.'))
    bad = copy.deepcopy(cfg.model.student)
    bad.trunk_trainable = ['neck.outputs.concept']
    with pytest.raises(KeyError, match="'neck.outputs.concept' names no"):
        MODELS.build(bad)
    bad.update(trunk_trainable=['neck.outputs.detector'], freeze_trunk=False)
    with pytest.raises(ValueError, match='needs freeze_trunk=True'):
        MODELS.build(bad)


def test_feature_term_matches_a_hand_computed_normalised_mse():
    """loss_feat: per level, MSE to the teacher's neck output over the image
    pixels (padding excluded) divided by the teacher level's variance there,
    times the level weight; it trains the levels that trunk_trainable
    names."""
    cfg = tiny_stage3_config()
    cfg.model.student.trunk_trainable = ['neck.outputs.detector']
    cfg.model.loss_feat = dict(type='MaskedMSELoss')
    cfg.model.feat_level_weights = dict(detector=(1.0, 2.0, 3.0))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    samples = [concept_sample('cat', 1), concept_sample('dog', 1)]
    # the second image fills the left half: the right half is padding
    samples[1].set_metainfo(dict(img_shape=(224, 112)))
    x = torch.randn(2, 3, 224, 224)
    losses = model.loss(x, samples)
    with torch.no_grad():
        s_levels = model.student.encode_trunk(x).levels('detector')
        t_levels = model.teacher.heads.neck_levels(
            model.teacher.encode_trunk(x), 'detector')
    assert len(s_levels) == 3
    for i, (s, t, w) in enumerate(zip(s_levels, t_levels, (1., 2., 3.))):
        h, wd = s.shape[-2:]
        half = -(-112 * wd // 224)  # ceil
        s_px = torch.cat([s[0].flatten(1), s[1, :, :, :half].flatten(1)], 1)
        t_px = torch.cat([t[0].flatten(1), t[1, :, :, :half].flatten(1)], 1)
        mse = (s_px - t_px).pow(2).mean()
        var = t_px.var(1, unbiased=False).mean()
        torch.testing.assert_close(
            losses[f'loss_feat_detector{i}'], w * mse / var, rtol=1e-4,
            atol=1e-6)
    model.zero_grad()
    losses['loss_feat_detector0'].backward()
    grads = {
        n: p.grad
        for n, p in model.student.trunk.named_parameters()
        if p.grad is not None and p.grad.abs().sum() > 0
    }
    assert grads and all(
        n.startswith('neck.outputs.detector.0.') for n in grads)
    for bad in (dict(feat_level_weights=None), dict(teacher=None)):
        kw = copy.deepcopy(cfg.model)
        kw.update(bad)
        with pytest.raises(ValueError, match='loss_feat needs a teacher'):
            MODELS.build(kw)
