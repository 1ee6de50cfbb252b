# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import os.path as osp
import sys

import pytest
import torch

from esam3.models.trackers.sam3_video_tracker_student import (
    ABSENT_MASK_LOGIT, hide_absent)
from esam3.registry import MODELS

# isort: off
# yapf: disable
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'test_trackers'))
from tracker_fixtures import make_track_sample, student_cfg  # noqa: E402
from tracker_fixtures import teacher_cfg, toy_frames, toy_masks  # noqa: E402
# yapf: enable
# isort: on


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def build(**kw):
    cfg = dict(
        type='Stage2Distiller',
        student=student_cfg(),
        teacher=teacher_cfg(),
        max_objects=4)
    cfg.update(kw)
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def model():
    return build(
        loss_readout=dict(type='MaskedMSELoss', loss_weight=1.0),
        loss_task_dice=dict(type='DiceLoss', loss_weight=1.0))


def _batch(b=2, t=3, n=2):
    masks = toy_masks(t, n)
    frames = torch.stack([toy_frames(masks, seed=i) for i in range(b)])
    return frames, [make_track_sample(masks, f'v{i}') for i in range(b)]


def test_teacher_hidden_and_heads_copied(model):
    keys = list(model.state_dict())
    assert keys and all(k.startswith('student.') for k in keys)
    assert not any('teacher' in k for k in keys)
    teacher_params = {id(p) for p in model.teacher.parameters()}
    assert not teacher_params & {id(p) for p in model.parameters()}
    t_heads = model.teacher.heads_state_dict()
    s_heads = model.student.heads.state_dict()
    # the student's memory attention is transformers' EdgeTAM RoPE module:
    # SAM3's MLP names are mapped (linear1/2 -> mlp.up_proj/down_proj)
    renamed = {
        k.replace('.linear1.',
                  '.mlp.up_proj.').replace('.linear2.', '.mlp.down_proj.')
        for k in t_heads
    }
    assert renamed == set(s_heads)
    model.init_weights()  # what mmengine's Runner does after building
    s_heads = model.student.heads.state_dict()
    pairs = (('memory_attention.layers.0.mlp.up_proj.weight',
              'memory_attention.layers.0.linear1.weight'),
             ('memory_attention.layers.1.cross_attn_image.k_proj.weight',
              'memory_attention.layers.1.cross_attn_image.k_proj.weight'),
             ('mask_decoder.iou_token.weight', ) * 2,
             ('vision_encoder.neck.fpn_layers.0.scale_layers.0.weight', ) * 2)
    for s_key, t_key in pairs:
        torch.testing.assert_close(s_heads[s_key], t_heads[t_key])
    model.train()
    assert not model.teacher.training


def test_loss_finite_and_encoder_frozen(model):
    frames, samples = _batch(b=2, t=3, n=2)
    model.train()
    model.zero_grad()
    losses = model.loss(frames, samples)
    assert {
        'loss_dice', 'loss_focal', 'loss_score', 'loss_task_dice',
        'loss_readout'
    } <= set(losses)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is None for p in model.student.trunk.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())
    grads = [p.grad for p in model.student.memory_bank.perceiver.parameters()]
    assert all(g is not None for g in grads)
    grads = [p.grad for p in model.student.heads.memory_attention.parameters()]
    assert all(g is not None for g in grads)
    model.zero_grad()


def test_objects_padded_and_clip_without_objects(model):
    frames, samples = _batch(b=2, t=2, n=2)
    # second clip: only one object visible on its first frame
    for ds in samples[1].video_data_samples:
        ds.gt_instances.masks.masks[1] = 0
    losses = model.loss(frames, samples)
    assert torch.isfinite(sum(losses.values()))
    for s in samples:
        for ds in s.video_data_samples:
            ds.gt_instances.masks.masks[:] = 0
    losses = model.loss(frames, samples)
    assert float(sum(losses.values()).detach()) == 0.0


def test_loss_decreases():
    model = build()
    # make the random teacher see its objects (positive object scores) so
    # that masks and presence both carry a signal the student must learn
    with torch.no_grad():
        head = model.teacher.tracker.mask_decoder.pred_obj_score_head
        head.proj_out.bias.fill_(3.0)
    frames, samples = _batch(b=1, t=3, n=1)
    track, cache = model.teacher.track_clip, {}

    def cached(frames, masks, return_readout=False):  # same clip each step
        key = (int(masks.sum()), return_readout)
        if key not in cache:
            cache[key] = track(frames, masks, return_readout=return_readout)
        return cache[key]

    model.teacher.track_clip = cached
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3)
    model.train()
    history = []
    for _ in range(20):
        loss = sum(model.loss(frames, samples).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    assert all(torch.isfinite(torch.tensor(history)))
    assert sum(history[-3:]) / 3 < 0.8 * sum(history[:3]) / 3, history


def test_predict_original_resolution(model):
    masks = toy_masks(4, 3)
    masks[:2, 2] = False  # the third object appears on frame 2
    frames = toy_frames(masks)[None]
    sample = make_track_sample(masks, 'vid')
    model.eval()
    out = model.forward(frames, [sample], mode='predict')[0]
    pred, gt = out.pred_track_masks, out.gt_track_masks
    assert pred.shape == gt.shape == (4, 3, 448, 400)
    assert pred.dtype == gt.dtype == torch.bool
    assert out.metainfo['video_id'] == 'vid'
    # frame 0 = the prompt; the late object is empty before its frame
    inter = (pred[0, :2] & gt[0, :2]).flatten(1).sum(1).float()
    union = (pred[0, :2] | gt[0, :2]).flatten(1).sum(1).float()
    assert (inter / union > 0.9).all()
    assert not pred[:2, 2].any() and pred[2, 2].any()
    raw = model.forward(frames, [make_track_sample(masks)], mode='tensor')
    assert raw['mask_logits'].shape[:3] == (1, 4, 2)


def test_stage1_decoder_survives_the_teacher_copy(model, tmp_path):
    """Stage 1 -> 2 hand-over: the tracker mask decoder trained in Stage 1 (in
    the Stage 1 checkpoint with the encoder) is the one Stage 2 starts from,
    not the teacher's copy; the rest of the heads are the teacher's."""
    student = model.student
    decoder = {
        k: v + 0.5
        for k, v in student.heads.mask_decoder.state_dict().items()
    }
    state = {
        f'student.trunk.{k}': v
        for k, v in student.trunk.state_dict().items()
    }
    state.update({
        f'student.heads.tracker.mask_decoder.{k}': v
        for k, v in decoder.items()
    })
    path = str(tmp_path / 'stage1.pth')
    torch.save(dict(state_dict=state), path)
    m = build(student=student_cfg(trunk_checkpoint=path))
    for k, v in m.student.heads.mask_decoder.state_dict().items():
        torch.testing.assert_close(v, decoder[k])
    teacher = m.teacher.heads_state_dict()
    for k, v in m.student.heads.state_dict().items():
        if not k.startswith('mask_decoder.') and k in teacher:
            torch.testing.assert_close(v, teacher[k])


def test_predict_with_teacher_tracks_like_the_teacher(model):
    masks = toy_masks(4, 2)
    masks[:2, 1] = False  # the second object starts on frame 2
    frames = toy_frames(masks)[None]
    model.eval()
    model.predict_with = 'teacher'
    try:
        logits = model.track_video(frames[0], masks)
    finally:
        model.predict_with = 'student'
    # object 0 from frame 0, object 1 from frame 2, each as the teacher
    # tracks it from its own first frame
    want0 = model.teacher.track_clip(frames[0], masks[0, :1])
    want1 = model.teacher.track_clip(frames[0, 2:], masks[2, 1:])
    torch.testing.assert_close(
        logits[:, 0],
        hide_absent(want0['mask_logits'][:, 0],
                    want0['object_score_logits'][:, 0]))
    torch.testing.assert_close(
        logits[2:, 1],
        hide_absent(want1['mask_logits'][:, 0],
                    want1['object_score_logits'][:, 0]))
    assert (logits[:2, 1] == ABSENT_MASK_LOGIT).all()
    with pytest.raises(ValueError, match='predict_with'):
        build(predict_with='both')
    with pytest.raises(ValueError, match='needs a teacher'):
        build(predict_with='teacher', teacher=None)
