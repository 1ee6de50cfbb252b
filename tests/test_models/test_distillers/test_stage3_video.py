# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Stage 3 on clips: the student's Perceiver-memory tracker, the Stage 2
checkpoint hand-over, clip losses and detect-and-track prediction."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from esam3.models.distillers.video_concept_tracking import (ABSENT,
                                                            track_concepts)
from esam3.registry import DATASETS, MODELS
from esam3.utils.checkpoint import CheckpointMismatchError

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


@pytest.fixture(scope='module')
def cfg():
    init_default_scope('esam3')
    return Config.fromfile(
        osp.join(REPO, 'configs/stage3/tiny_video.py'),
        format_python_code=False)


@pytest.fixture(scope='module')
def model(cfg):
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def clip_batch(cfg, model, idx, train=True):
    loader = cfg.train_dataloader if train else cfg.val_dataloader
    ds = loader.dataset
    if ds.type == 'mmdet.ConcatDataset':
        ds = ds.datasets[1]
    dataset = DATASETS.build(ds)
    return model.data_preprocessor(pseudo_collate([dataset[idx]]), train)


# ------------------------------------------------------------ linking logic
class PerfectTracker:
    """Stand-in tracker that keeps each prompted mask unchanged (object score
    +1), or loses it (score -1) from frame ``lose_at`` on."""

    mask_size = (8, 8)

    def __init__(self, lose_at=None):
        self.lose_at = lose_at
        self.prompts = []

    def new_track(self):
        return {}

    def track_step(self, track, trunk, t, prompt=None):
        if prompt is not None:
            self.prompts.append(t)
            track['mask'] = F.interpolate(prompt['masks'], size=(8, 8)) * 20 \
                - 10
        lost = self.lose_at is not None and t >= self.lose_at
        return track['mask'], torch.full((1, 1), -1.0 if lost else 1.0)


def square(y, x, s=3):
    m = torch.full((8, 8), -10.)
    m[y:y + s, x:x + s] = 10.
    return m


def test_detections_are_linked_into_masklets():
    # object A detected on every frame, object B from frame 2 on
    def detect(t):
        dets = [square(0, 0)] + ([square(4, 4)] if t >= 2 else [])
        scores = [0.9] + ([0.6] if t >= 2 else [])
        return torch.tensor(scores), torch.stack(dets)

    tracker = PerfectTracker()
    logits, scores = track_concepts(
        detect, lambda t: None, tracker, 4, input_size=16, assoc_iou=0.5)
    assert logits.shape == (2, 4, 8, 8)
    assert tracker.prompts == [0, 2]  # one new masklet per new object
    torch.testing.assert_close(scores, torch.tensor([0.9, 0.6]))
    assert torch.equal(logits[0, 3] > 0, square(0, 0) > 0)
    assert (logits[1, :2] == ABSENT).all()  # B starts on frame 2
    assert torch.equal(logits[1, 3] > 0, square(4, 4) > 0)


def test_lost_masklet_is_absent_and_unlinked_detection_starts_anew():

    def detect(t):
        return torch.tensor([0.8]), square(0, 0)[None]

    tracker = PerfectTracker(lose_at=2)
    logits, _ = track_concepts(
        detect, lambda t: None, tracker, 3, input_size=16)
    # frame 2: masklet 0 is lost (absent), the detection starts masklet 1
    assert logits.shape[0] == 2 and tracker.prompts == [0, 2]
    assert (logits[0, 2] == ABSENT).all()
    assert (logits[1, :2] == ABSENT).all() and (logits[1, 2] > 0).any()


def test_no_detection_gives_no_masklet():
    logits, scores = track_concepts(
        lambda t: (torch.zeros(0), torch.zeros(0, 8, 8)),
        lambda t: None,
        PerfectTracker(),
        3,
        input_size=16)
    assert logits.shape == (0, 3, 8, 8) and scores.shape == (0, )


# -------------------------------------------------------------- the model
def test_clip_loss_trains_tracker_and_heads_not_the_encoder(cfg, model):
    data = clip_batch(cfg, model, 1)  # "head": one object on frame 0
    model.train()
    model.zero_grad()
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {
        'loss_track_dice', 'loss_track_focal', 'loss_track_score',
        'loss_presence', 'loss_mask_dice'
    } <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    named = dict(model.student.named_parameters())
    assert all(p.grad is None for n, p in named.items()
               if n.startswith('trunk.'))
    bank = [
        p for n, p in named.items()
        if n.startswith('video.memory_bank.perceiver')
    ]
    assert bank and all(p.grad is not None for p in bank)
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for n, p in named.items()
               if n.startswith('heads.detector.detr_decoder'))
    # frozen tracker modules stay frozen
    assert all(p.grad is None for n, p in named.items()
               if n.startswith('video.heads.prompt_encoder'))


def test_negative_clip_has_zero_tracking_loss(cfg, model):
    data = clip_batch(cfg, model, 3)  # "dog": no masklet
    losses = model.loss(data['inputs'], data['data_samples'])
    assert losses['loss_track_dice'].item() == 0.0
    assert torch.isfinite(losses['loss_presence'])


def test_clip_prediction_outputs_masklets_at_original_size(cfg, model):
    data = clip_batch(cfg, model, 0, train=False)
    model.eval()
    model.score_thr = 0.0  # keep every query: exercises the linking
    try:
        out = model.predict(data['inputs'], data['data_samples'])[0]
    finally:
        model.score_thr = cfg.model.score_thr
    m = out.pred_masklets
    assert m.dtype == torch.bool and m.shape[1:] == (12, 144, 176)
    assert m.shape[0] == out.pred_masklet_scores.shape[0] >= 1
    assert len(out.gt_masklet_rles) == 1 and \
        len(out.gt_masklet_rles[0]) == 12
    assert out.metainfo['text'] == 'bow tie'


def test_stage2_checkpoint_loads_strictly(cfg, tmp_path):
    s2 = Config.fromfile(
        osp.join(REPO, 'configs/stage2/tiny.py'), format_python_code=False)
    torch.manual_seed(1)
    stage2 = MODELS.build(s2.model.student)
    state = {'student.' + k: v for k, v in stage2.state_dict().items()}
    path = str(tmp_path / 's2.pth')
    torch.save(dict(state_dict=state), path)
    # the tiny image tracker is smaller than the tiny video tracker, so the
    # Stage 2 decoder cannot start the image tracker: a clear error
    with pytest.raises(
            CheckpointMismatchError,
            match='(?s)tracker mask decoder.*decoder_from_stage2'):
        MODELS.build(
            dict(
                cfg.model.student,
                stage2_checkpoint=path,
                decoder_from_stage2=True))
    student = dict(cfg.model.student, stage2_checkpoint=path)
    assert student['decoder_from_stage2'] is False  # the tiny config's
    s3 = MODELS.build(student)
    for k, v in stage2.trunk.state_dict().items():
        torch.testing.assert_close(s3.trunk.state_dict()[k], v)
    ref = stage2.memory_bank.state_dict()
    for k, v in s3.video.memory_bank.state_dict().items():
        torch.testing.assert_close(v, ref[k])
    state['student.memory_bank.extra'] = torch.zeros(1)
    torch.save(dict(state_dict=state), path)
    with pytest.raises(
            CheckpointMismatchError,
            match='(?s)video tracker.*memory_bank.extra'):
        MODELS.build(student)


def test_carried_decoder_survives_the_teacher_copy(cfg, model):
    """Stage 2 -> 3 hand-over: a carried tracker mask decoder is re-applied
    after the distiller copies the teacher's heads."""
    torch.manual_seed(2)
    student = MODELS.build(cfg.model.student)
    decoder = {
        k: v + 0.25
        for k, v in student.heads.tracker.mask_decoder.state_dict().items()
    }
    student._carried_decoder = decoder
    teacher = MODELS.build(cfg.model.teacher)
    ref = {k: v.clone() for k, v in teacher.heads.state_dict().items()}
    distiller = MODELS.build(dict(cfg.model, student=student, teacher=teacher))
    heads = distiller.student.heads
    for k, v in heads.tracker.mask_decoder.state_dict().items():
        torch.testing.assert_close(v, decoder[k])
    for k, v in heads.state_dict().items():
        if 'tracker.mask_decoder.' not in k:
            torch.testing.assert_close(v, ref[k])
    # frozen modules are shared with the teacher, but not the ones holding
    # the carried decoder: the teacher keeps its own tracker decoder
    assert teacher.heads.detector.text_encoder is heads.detector.text_encoder
    assert teacher.heads.tracker is not heads.tracker
    for k, v in teacher.heads.tracker.mask_decoder.state_dict().items():
        torch.testing.assert_close(v, ref['tracker.mask_decoder.' + k])
