# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Mmdet's losses, as the distillers configure them, equal esam3's on hand-
computed cases, on random inputs (values and gradients), and differ exactly
where esam3 keeps its own (empty batches, per-box L1 weights)."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from esam3.models.losses import (BCELoss, DiceLoss, GIoULoss, L1BoxLoss,
                                 SigmoidFocalLoss)
from esam3.models.losses.mmdet_loss_cfgs import (mmdet_bce_loss,
                                                 mmdet_dice_loss,
                                                 mmdet_focal_loss,
                                                 mmdet_giou_loss,
                                                 mmdet_l1_loss)
from esam3.registry import MODELS

LN2, LN3, LN43 = math.log(2.), math.log(3.), math.log(4. / 3.)
REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def _build(cfg):
    loss = MODELS.build(cfg)
    assert type(loss).__module__.startswith('mmdet.'), type(loss)
    return loss


def _two_masks():
    # mask 0: p = .5 everywhere, target one pixel; mask 1: p = .75 / .25
    # columns, target the left column (the cases of test_mask_losses.py)
    pred = torch.tensor([[[0., 0.], [0., 0.]], [[LN3, -LN3], [LN3, -LN3]]])
    target = torch.tensor([[[1., 0.], [0., 0.]], [[1., 0.], [1., 0.]]])
    return pred, target


def _boxes(n, seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 10
    wh = torch.rand(n, 2, generator=g) * 5 + 0.1
    return torch.cat([xy, xy + wh], 1)


def _assert_same(ours, theirs, pred, target, **kwargs):
    """Equal values and equal gradients w.r.t.

    ``pred``.
    """
    p1 = pred.clone().requires_grad_(True)
    p2 = pred.clone().requires_grad_(True)
    a, b = ours(p1, target, **kwargs), theirs(p2, target, **kwargs)
    torch.testing.assert_close(b, a)
    a.backward()
    b.backward()
    torch.testing.assert_close(p2.grad, p1.grad)


def test_dice_hand_values():
    pred, target = _two_masks()
    dice = _build(mmdet_dice_loss())
    # per mask 1 - (2 * inter + 1) / (sum p + sum t + 1): .5 and .2
    assert dice(pred, target).item() == pytest.approx(0.35)
    assert dice(
        pred, target, weight=torch.tensor([1., 2.]),
        reduction_override='sum').item() == pytest.approx(0.9)
    assert _build(mmdet_dice_loss(2.))(pred, target, avg_factor=4).item() \
        == pytest.approx(0.35, rel=1e-5)
    # mmdet's defaults (naive_dice=False, eps=1e-3) are another loss
    assert MODELS.build(dict(type='mmdet.DiceLoss'))(
        pred, target).item() != pytest.approx(
            0.35, abs=1e-3)


def test_focal_hand_values():
    pred, target = _two_masks()
    per_mask = torch.tensor([10 * LN2 / 64, LN43 / 32])
    focal = _build(mmdet_focal_loss(20.))
    # equal-size masks: the mean over all pixels is the mean of mask means
    assert focal(pred, target).item() == pytest.approx(
        20 * per_mask.mean().item(), rel=1e-5)
    # 1-D scores with avg_factor (the Stage 3 classification term)
    logits, labels = torch.tensor([0., LN3]), torch.tensor([1., 0.])
    expected = 0.0625 * LN2 + 0.75 * 0.5625 * math.log(4.)
    assert _build(mmdet_focal_loss())(
        logits, labels, avg_factor=2.).item() == pytest.approx(
            expected / 2, rel=1e-5)


def test_bce_l1_giou_hand_values():
    pred, target = torch.tensor([0., LN3]), torch.tensor([1., 1.])
    bce = _build(mmdet_bce_loss())
    assert bce(pred, target).item() == pytest.approx((LN2 + LN43) / 2)
    assert bce(pred, target, weight=torch.tensor([1., 3.])).item() == \
        pytest.approx((LN2 + 3 * LN43) / 2)
    l1 = _build(mmdet_l1_loss())
    a, b = torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[1., 0., 2., 4.]])
    assert l1(a, b).item() == pytest.approx(0.75)
    assert l1(a, b, avg_factor=1.).item() == pytest.approx(3., rel=1e-5)
    giou = _build(mmdet_giou_loss(2.))
    a, b = torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[1., 1., 3., 3.]])
    # inter 1, union 7, hull 9: GIoU = 1/7 - 2/9 = -5/63
    assert giou(a, b).item() == pytest.approx(2 * 68 / 63, rel=1e-5)
    assert giou(a, a).item() == pytest.approx(0., abs=1e-6)


def test_random_inputs_equal_values_and_gradients():
    g = torch.Generator().manual_seed(0)
    masks = torch.randn(6, 9, 7, generator=g) * 3
    gt = (torch.rand(6, 9, 7, generator=g) > 0.6).float()
    _assert_same(DiceLoss(), _build(mmdet_dice_loss()), masks, gt)
    _assert_same(
        DiceLoss(),
        _build(mmdet_dice_loss()),
        masks,
        gt,
        weight=torch.rand(6, generator=g),
        avg_factor=3.)
    _assert_same(
        SigmoidFocalLoss(loss_weight=20.), _build(mmdet_focal_loss(20.)),
        masks, gt)
    scores = torch.randn(40, generator=g) * 2
    labels = (torch.rand(40, generator=g) > 0.8).float()
    _assert_same(
        SigmoidFocalLoss(loss_weight=2.),
        _build(mmdet_focal_loss(2.)),
        scores,
        labels,
        avg_factor=7.)
    _assert_same(BCELoss(), _build(mmdet_bce_loss()), scores, labels)
    soft = torch.rand(40, generator=g)
    _assert_same(
        BCELoss(),
        _build(mmdet_bce_loss()),
        scores,
        soft,
        weight=torch.rand(40, generator=g))
    pred_boxes, gt_boxes = _boxes(12, 1), _boxes(12, 2)
    _assert_same(
        L1BoxLoss(loss_weight=5.), _build(mmdet_l1_loss(5.)), pred_boxes,
        gt_boxes)
    _assert_same(
        L1BoxLoss(),
        _build(mmdet_l1_loss()),
        pred_boxes,
        gt_boxes,
        avg_factor=12.)
    _assert_same(
        GIoULoss(loss_weight=2.), _build(mmdet_giou_loss(2.)), pred_boxes,
        gt_boxes)


def test_where_esam3_keeps_its_own():
    empty = torch.zeros(0, 4, 4)
    # an empty batch: esam3 gives 0, mmdet's mean over nothing is NaN
    assert DiceLoss()(empty, empty).item() == 0.
    assert SigmoidFocalLoss()(empty, empty).item() == 0.
    assert torch.isnan(_build(mmdet_dice_loss())(empty, empty))
    assert torch.isnan(_build(mmdet_focal_loss())(empty, empty))
    # a per-box weight [N]: esam3 weights each box's four coordinates
    pred, target = _boxes(3, 3), _boxes(3, 4)
    weight = torch.tensor([1., 0., 0.])
    ours = L1BoxLoss(reduction='sum')(pred, target, weight=weight)
    assert ours.item() == pytest.approx(
        (pred[0] - target[0]).abs().sum().item(), rel=1e-6)
    with pytest.raises(RuntimeError):
        _build(mmdet_l1_loss())(
            pred, target, weight=weight, reduction_override='sum')


@pytest.mark.parametrize('stage,keys', [
    ('stage1', ['loss_dice', 'loss_focal']),
    ('stage2', ['loss_dice', 'loss_focal', 'loss_score']),
])
def test_distiller_configs_use_the_parity_settings(stage, keys):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', f'{stage}_distiller.py'))
    expected = dict(
        loss_dice=mmdet_dice_loss(1.0),
        loss_focal=mmdet_focal_loss(20.0),
        loss_score=mmdet_bce_loss(1.0))
    for key in keys:
        got = cfg.model[key].to_dict()
        want = expected[key]
        # the config leaves mmdet's default reduction ('mean') implicit
        assert dict(got, reduction='mean') == want, key
