# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Sam3FineTuner: ground-truth losses on hand-made cases, and one real
fine-tuning step of the tiny SAM3 (image and clip)."""
from types import SimpleNamespace

import pytest
import torch
from distiller_fixtures import make_samples, tiny_sam3_cfg
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from torch import nn

from esam3.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')


class FixedHeads(nn.Module):
    """Tracker heads whose decoder answers with fixed logits (3 tokens)."""

    def __init__(self, logits: torch.Tensor, iou: torch.Tensor) -> None:
        super().__init__()
        self.logits = nn.Parameter(logits)
        self.iou = nn.Parameter(iou)
        self.calls = []

    def tracker_image_embeddings(self, trunk):
        return [trunk]

    def decode_prompts(self, emb, points, labels, multimask_output=False):
        self.calls.append((points.clone(), labels.clone(), multimask_output))
        k = 3 if multimask_output else 1
        return SimpleNamespace(
            pred_masks=self.logits[None, :, :k],
            iou_scores=self.iou[None, :, :k])


def one_instance_sample(size=8):
    m = torch.zeros(1, size, size, dtype=torch.uint8)
    m[0, 2:6, 2:6] = 1
    ds = DetDataSample(metainfo=dict(img_shape=(size, size)))
    ds.gt_instances = InstanceData(
        masks=BitmapMasks(m.numpy(), size, size),
        bboxes=torch.tensor([[2., 2., 6., 6.]]),
        labels=torch.zeros(1).long())
    return ds


def build_finetuner(student, **kwargs):
    init_default_scope('esam3')
    return MODELS.build(dict(type='Sam3FineTuner', student=student, **kwargs))


def test_point_prompt_loss_is_that_of_the_best_token():
    # token 0 = exact GT (large logits), 1 = all off, 2 = all on
    gt = torch.zeros(8, 8)
    gt[2:6, 2:6] = 1
    logits = torch.stack(
        [gt * 40 - 20,
         torch.full((8, 8), -20.),
         torch.full((8, 8), 20.)])[None]  # [P=1, K=3]
    heads = FixedHeads(logits, torch.tensor([[0.5, 0.5, 0.5]]))
    student = nn.Module()
    student.heads = heads
    ft = build_finetuner(student, box_prob=0.0, num_refine=0)
    losses = ft.prompt_losses(
        torch.zeros(1, 4, 8, 8), [one_instance_sample()], 8)
    # single click -> multimask output, the best token (0) is ~ exact
    assert heads.calls[0][2] is True
    assert int(heads.calls[0][1][0, 0, 0]) == 1  # positive centre click
    assert losses['loss_prompt_dice_r0'].item() < 1e-3
    assert losses['loss_prompt_focal_r0'].item() < 1e-6
    # IoU head regressed to the true IoUs: 1, 0 and 16 / 64
    want = torch.tensor([1.0, 0.0, 0.25])
    assert losses['loss_prompt_iou_r0'].item() == pytest.approx(
        ((0.5 - want)**2).mean().item(), rel=1e-5)


def test_box_prompt_then_corrective_click_from_the_error_region():
    # the single-mask answer misses the GT's left column: false negatives
    gt = torch.zeros(8, 8)
    gt[2:6, 2:6] = 1
    pred = gt.clone()
    pred[2:6, 2] = 0
    logits = torch.stack([pred * 40 - 20] * 3)[None]
    heads = FixedHeads(logits, torch.ones(1, 3))
    student = nn.Module()
    student.heads = heads
    ft = build_finetuner(
        student, box_prob=1.0, num_refine=1, min_refine_region=1)
    losses = ft.prompt_losses(
        torch.zeros(1, 4, 8, 8), [one_instance_sample()], 8)
    (pts0, lbl0, multi0), (pts1, lbl1, multi1) = heads.calls
    assert not multi0 and not multi1
    assert lbl0[0, 0].tolist() == [2, 3]  # box corners
    assert pts0[0, 0].tolist() == [[2., 2.], [6., 6.]]
    # the click lies in the missed column (x = 2.5) and is positive
    assert int(lbl1[0, 0, 2]) == 1
    assert pts1[0, 0, 2, 0].item() == pytest.approx(2.5)
    assert 2 <= pts1[0, 0, 2, 1].item() <= 6
    # dice of 12 predicted pixels against 16 GT pixels (eps 1)
    dice = 1 - (2 * 12 + 1) / (12 + 16 + 1)
    assert losses['loss_prompt_dice_r0'].item() == pytest.approx(
        dice, abs=1e-4)
    assert set(losses) == {
        f'loss_prompt_{k}_r{r}'
        for k in ('dice', 'focal', 'iou')
        for r in (0, 1)
    }


def test_track_losses_use_visible_frames_and_object_scores():
    size = 8
    m = torch.zeros(3, 1, size, size, dtype=torch.bool)
    m[0, 0, 2:6, 2:6] = True
    m[1, 0, 2:6, 3:7] = True  # frame 2: object gone
    frames = []
    for t in range(3):
        ds = DetDataSample(metainfo=dict(img_shape=(size, size)))
        ds.gt_instances = InstanceData(
            masks=BitmapMasks(m[t].numpy().astype('uint8'), size, size))
        frames.append(ds)
    sample = TrackDataSample(video_data_samples=frames)

    class FakeVideoStudent(nn.Module):

        def __init__(self):
            super().__init__()
            self.video = nn.Linear(1, 1)
            self.seen = None

        def track_clip(self, clip, first):
            self.seen = first
            logits = torch.stack([m[t].float() * 40 - 20 for t in range(3)])
            return dict(
                mask_logits=logits,
                object_score_logits=torch.tensor([[5.], [5.], [5.]]))

    student = FakeVideoStudent()
    ft = build_finetuner(student)
    losses = ft.track_losses(torch.zeros(1, 3, 3, size, size), [sample])
    assert torch.equal(student.seen, m[0])
    # masks: only frame 1 counts (visible) and it is exact
    assert losses['loss_track_dice'].item() < 1e-3
    # scores: frame 1 visible (logit 5 -> small loss), frame 2 not
    want = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([5., 5.]), torch.tensor([1., 0.]))
    assert losses['loss_track_score'].item() == pytest.approx(
        want.item(), rel=1e-5)


@pytest.fixture(scope='module')
def tiny_finetuner():
    init_default_scope('esam3')
    return MODELS.build(
        dict(
            type='Sam3FineTuner',
            student=dict(
                type='Sam3Trainable',
                config=tiny_sam3_cfg().config,
                frozen=['heads.detector.text_encoder']),
            prompt_on_concepts=True))


def test_image_step_reaches_trunk_and_heads_not_frozen_text(tiny_finetuner):
    ft = tiny_finetuner
    ft.zero_grad()
    samples = make_samples(2)
    samples[0].set_metainfo(dict(text='square', is_negative=False))
    losses = ft.loss(torch.randn(2, 3, 224, 224), samples)
    assert {'loss_presence', 'loss_cls', 'loss_prompt_dice_r0'} <= set(losses)
    sum(losses.values()).backward()
    grads = {
        n: p.grad is not None and p.grad.abs().sum() > 0
        for n, p in ft.named_parameters()
    }
    assert grads['student.trunk.embeddings.patch_embeddings.projection.weight']
    assert any(v for n, v in grads.items() if '.tracker.mask_decoder' in n)
    assert any(v for n, v in grads.items() if 'detr_decoder' in n)
    text = [p for n, p in ft.named_parameters() if 'text_encoder' in n]
    assert text and all(not p.requires_grad for p in text)


def test_unknown_frozen_prefix_is_named():
    init_default_scope('esam3')
    with pytest.raises(KeyError, match='heads.nope'):
        MODELS.build(
            dict(
                type='Sam3Trainable',
                config=tiny_sam3_cfg().config,
                frozen=['heads.nope']))
