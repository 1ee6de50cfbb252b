# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SAM1 / SAM2 teachers: tiny random models answer point and box prompts, stay
frozen and in eval mode, and stay out of a distiller's state_dict."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from torch import nn

from esam3.models.teachers import Sam2Teacher, SamTeacher
from esam3.registry import MODELS

CFG_DIR = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'models')


def _cfg(name: str) -> Config:
    return Config.fromfile(osp.join(CFG_DIR, name))


@pytest.fixture(scope='module')
def sam2() -> Sam2Teacher:
    torch.manual_seed(0)
    return MODELS.build(_cfg('sam2_tiny.py').sam2_teacher_cfg)


@pytest.fixture(scope='module')
def sam1() -> SamTeacher:
    torch.manual_seed(0)
    return MODELS.build(_cfg('sam1_tiny.py').sam1_teacher_cfg)


class _Holder(nn.Module):
    """Distiller-style holder: teacher hidden from modules/state_dict."""

    def __init__(self, teacher: nn.Module) -> None:
        super().__init__()
        self.student = nn.Conv2d(3, 4, 1)
        object.__setattr__(self, 'teacher', teacher)


def _prompts(size: int):
    points = torch.tensor([[[[0.3 * size, 0.4 * size]]],
                           [[[0.6 * size, 0.5 * size]]]])
    labels = torch.ones(2, 1, 1, dtype=torch.long)
    boxes = torch.tensor([[[0.1, 0.1, 0.5, 0.6]], [[0.2, 0.3, 0.9, 0.8]]
                          ]) * size
    return points, labels, boxes


@pytest.mark.parametrize('name', ['sam1', 'sam2'])
def test_prompts_shapes(name, request):
    teacher = request.getfixturevalue(name)
    size = teacher.image_size
    assert size == 128
    x = torch.randn(2, 3, size, size)
    points, labels, boxes = _prompts(size)
    emb = teacher.encode_image(x)
    if name == 'sam2':
        assert [tuple(e.shape) for e in emb] == [(2, 4, 32, 32),
                                                 (2, 8, 16, 16), (2, 32, 8, 8)]
    else:
        assert tuple(emb.shape) == (2, 32, 8, 8)
    assert tuple(teacher.encode_trunk(x).shape) == (2, 32, 8, 8)

    out_p = teacher.predict_prompts(
        pixel_values=x, points=points, labels=labels)
    assert tuple(out_p.pred_masks.shape) == (2, 1, 1, 32, 32)
    assert tuple(out_p.iou_scores.shape) == (2, 1, 1)
    out_b = teacher.predict_prompts(
        image_embeddings=emb, boxes=boxes, multimask_output=True)
    assert tuple(out_b.pred_masks.shape) == (2, 1, 3, 32, 32)
    assert tuple(out_b.iou_scores.shape) == (2, 1, 3)
    # precomputed embeddings give the same answer as pixels
    out_p2 = teacher.predict_prompts(
        image_embeddings=emb, points=points, labels=labels)
    torch.testing.assert_close(out_p.pred_masks, out_p2.pred_masks)
    # different prompts -> different masks
    assert not torch.allclose(out_p.pred_masks, out_b.pred_masks[:, :, :1])


@pytest.mark.parametrize('name', ['sam1', 'sam2'])
def test_frozen_eval_and_hidden(name, request):
    teacher = request.getfixturevalue(name)
    assert not any(p.requires_grad for p in teacher.parameters())
    teacher.train()
    assert not teacher.training
    assert not any(m.training for m in teacher.modules())
    holder = _Holder(teacher)
    assert holder.teacher is teacher
    keys = list(holder.state_dict())
    assert keys == ['student.weight', 'student.bias']
    assert len(list(holder.parameters())) == 2


@pytest.mark.parametrize('name', ['sam1', 'sam2'])
def test_unsupported_prompts(name, request):
    teacher = request.getfixturevalue(name)
    label = 'SAM2' if name == 'sam2' else 'SAM'
    x = torch.randn(1, 3, 128, 128)
    with pytest.raises(
            NotImplementedError,
            match=f'{label} has no text prompts; use Sam3Teacher'):
        teacher.predict_concepts(pixel_values=x, text=['a cat'])
    with pytest.raises(NotImplementedError, match='no text prompts'):
        teacher.predict_prompts(pixel_values=x, concepts=['a cat'])
    with pytest.raises(ValueError, match='needs points, boxes or masks'):
        teacher.predict_prompts(pixel_values=x)
    with pytest.raises(ValueError, match='exactly one'):
        teacher.predict_prompts(boxes=torch.zeros(1, 1, 4))
    with pytest.raises(ValueError, match='128x128'):
        teacher.encode_image(torch.randn(1, 3, 64, 64))


def test_sam2_video_handle_shares_encoder():
    cfg = _cfg('sam2_tiny.py')
    teacher = Sam2Teacher(
        config=cfg.sam2_cfg['config'],
        with_video=True,
        video_config=cfg.sam2_video_cfg)
    assert teacher.video_model is not None
    assert teacher.video_model.vision_encoder is teacher.model.vision_encoder
    assert not any(p.requires_grad for p in teacher.parameters())
    teacher.train()
    assert not teacher.video_model.training


@pytest.mark.parametrize('name', ['sam1', 'sam2'])
def test_save_and_load_pretrained(name, request, tmp_path):
    teacher = request.getfixturevalue(name)
    teacher.model.save_pretrained(str(tmp_path))
    cls = type(teacher)
    loaded = cls(pretrained=str(tmp_path))
    x = torch.randn(1, 3, 128, 128)
    torch.testing.assert_close(loaded.encode_trunk(x), teacher.encode_trunk(x))
    with pytest.raises(FileNotFoundError, match='not found'):
        cls(pretrained=str(tmp_path / 'missing'))
