# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import pytest
import torch
from tracker_fixtures import teacher_cfg, toy_frames, toy_masks

from esam3.registry import MODELS


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope='module')
def teacher():
    torch.manual_seed(0)
    return MODELS.build(teacher_cfg())


def test_frozen_eval_and_trunk(teacher):
    assert not any(p.requires_grad for p in teacher.parameters())
    teacher.train()
    assert not teacher.training and not teacher.tracker.training
    trunk = teacher.encode_trunk(torch.randn(2, 3, 224, 224))
    assert trunk.shape == (2, 32, 16, 16) and not trunk.requires_grad
    heads = teacher.heads_state_dict()
    assert heads and not any(
        k.startswith('vision_encoder.backbone.') for k in heads)
    assert any(k.startswith('vision_encoder.neck.') for k in heads)
    with pytest.raises(ValueError):
        teacher.encode_trunk(torch.randn(1, 3, 220, 220))


def test_track_clip_masks(teacher):
    masks = toy_masks(4, 3)
    frames = toy_frames(masks)
    out = teacher.track_clip(frames, masks[0], return_readout=True)
    assert out['mask_logits'].shape == (4, 3, 64, 64)
    assert out['object_score_logits'].shape == (4, 3)
    assert out['memory_readout'].shape == (3, 3, 128, 16, 16)
    for v in out.values():
        assert not v.requires_grad and torch.isfinite(v).all()
    # frame 0 answers a mask prompt with the mask itself (+-10 logits)
    low = torch.nn.functional.interpolate(
        masks[0, :, None].float(), size=(64, 64), mode='area')[:, 0]
    agree = ((out['mask_logits'][0] > 0) == (low > 0.5)).float().mean()
    assert agree > 0.97
    assert (out['object_score_logits'][0] == 10).all()
    assert all(p.grad is None for p in teacher.parameters())
    # whole-clip propagation (non-streaming) answers in the same format
    offline = teacher.track_clip(frames, masks[0], streaming=False)
    assert offline['mask_logits'].shape == out['mask_logits'].shape
    torch.testing.assert_close(offline['mask_logits'][0],
                               out['mask_logits'][0])
    # streaming API, frame by frame
    session = teacher.start_session(masks[0])
    logits, scores = teacher.track_frame(session, frames[0])
    assert logits.shape == (3, 64, 64) and scores.shape == (3, )


def test_track_clip_points_and_boxes(teacher):
    masks = toy_masks(3, 2)
    frames = toy_frames(masks)
    points = torch.tensor([[[40., 40.]], [[50., 100.]]])
    out = teacher.track_clip(
        frames,
        points=points,
        labels=torch.ones(2, 1, dtype=torch.long),
        boxes=torch.tensor([[20., 20., 70., 60.], [30., 80., 80., 120.]]))
    assert out['mask_logits'].shape == (3, 2, 64, 64)
    assert out['object_score_logits'].shape == (3, 2)
    with pytest.raises(ValueError):
        teacher.track_clip(frames)
