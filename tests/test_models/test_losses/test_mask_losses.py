# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Dice and sigmoid focal losses against hand-computed values."""
import math

import pytest
import torch
import torch.nn.functional as F

from esam3.models.losses import DiceLoss, SigmoidFocalLoss
from esam3.registry import MODELS

LN3 = math.log(3.0)  # sigmoid(ln 3) = 0.75, sigmoid(-ln 3) = 0.25


def _two_masks():
    # mask 0: all logits 0 -> p = 0.5 everywhere; target one positive pixel
    # mask 1: p = [[.75, .25], [.75, .25]]; target left column
    pred = torch.tensor([[[0., 0.], [0., 0.]], [[LN3, -LN3], [LN3, -LN3]]])
    target = torch.tensor([[[1., 0.], [0., 0.]], [[1., 0.], [1., 0.]]])
    return pred, target


def test_dice_hand_values():
    pred, target = _two_masks()
    loss = DiceLoss(reduction='none')(pred, target)
    # mask 0: inter = .5, sum p = 2, sum t = 1
    #   1 - (2 * .5 + 1) / (2 + 1 + 1) = 1 - 2/4 = 0.5
    # mask 1: inter = .75 + .75 = 1.5, sum p = 2, sum t = 2
    #   1 - (2 * 1.5 + 1) / (2 + 2 + 1) = 1 - 4/5 = 0.2
    torch.testing.assert_close(loss, torch.tensor([0.5, 0.2]))
    assert DiceLoss()(pred, target).item() == pytest.approx(0.35)
    # weight [1, 2], sum: .5 + 2 * .2 = .9
    assert DiceLoss(reduction='sum')(
        pred, target, weight=torch.tensor([1., 2.])).item() == \
        pytest.approx(0.9)
    # avg_factor 4: (.5 + .2) / 4 = .175; loss_weight 2 -> .35
    assert DiceLoss(loss_weight=2.)(pred, target, avg_factor=4).item() == \
        pytest.approx(0.35, rel=1e-5)
    # perfect confident prediction -> ~0 (smooth 1 keeps it exact for 0/0)
    big = (target * 2 - 1) * 50
    assert DiceLoss()(big, target).item() == pytest.approx(0., abs=1e-6)


def test_dice_valid_mask_ignores_padding():
    pred, target = _two_masks()
    valid = torch.tensor([[1., 0.], [1., 0.]]).expand(2, 2, 2)
    loss = DiceLoss(reduction='none')(pred, target, valid_mask=valid)
    # mask 0 on the left column: p = [.5, .5], t = [1, 0]
    #   1 - (2 * .5 + 1) / (1 + 1 + 1) = 1/3
    # mask 1 on the left column: p = [.75, .75], t = [1, 1]
    #   1 - (2 * 1.5 + 1) / (1.5 + 2 + 1) = 1 - 4/4.5 = 1/9
    torch.testing.assert_close(loss, torch.tensor([1 / 3, 1 / 9]))
    pred2 = pred.clone()
    pred2[:, :, 1] = 17.  # change only ignored pixels
    torch.testing.assert_close(
        DiceLoss(reduction='none')(pred2, target, valid_mask=valid), loss)


def test_focal_hand_values():
    pred, target = _two_masks()
    loss = SigmoidFocalLoss(reduction='none')(pred, target)
    ln2, ln43 = math.log(2.), math.log(4. / 3.)
    # mask 0, p = .5, CE = ln 2, (1 - p_t)^2 = 1/4 for every pixel:
    #   positive: .25 * 1/4 * ln2 = ln2/16; 3 negatives: .75 * 1/4 * ln2
    #   mean = (ln2/16 + 3 * 3 ln2/16) / 4 = 10 ln2 / 64
    # mask 1, p_t = .75 everywhere, CE = ln(4/3), (1 - p_t)^2 = 1/16:
    #   2 positives: .25/16 ln(4/3); 2 negatives: .75/16 ln(4/3)
    #   mean = (2 * .25 + 2 * .75) / 16 * ln(4/3) / 4 = ln(4/3) / 32
    expected = torch.tensor([10 * ln2 / 64, ln43 / 32])
    torch.testing.assert_close(loss, expected)
    assert SigmoidFocalLoss(loss_weight=20.)(pred, target).item() == \
        pytest.approx(20 * expected.mean().item(), rel=1e-5)
    # normalised by the number of masks: sum / avg_factor
    assert SigmoidFocalLoss()(pred, target, avg_factor=4.).item() == \
        pytest.approx(expected.sum().item() / 4, rel=1e-5)


def test_focal_reduces_to_bce_and_valid_mask():
    torch.manual_seed(0)
    pred, target = torch.randn(3, 5, 5), (torch.rand(3, 5, 5) > .5).float()
    plain = SigmoidFocalLoss(alpha=-1, gamma=0.)(pred, target)
    torch.testing.assert_close(
        plain, F.binary_cross_entropy_with_logits(pred, target))
    valid = torch.zeros(3, 5, 5)
    valid[:, :3] = 1
    masked = SigmoidFocalLoss(reduction='none')(pred, target, valid_mask=valid)
    ref = SigmoidFocalLoss(reduction='none')(pred[:, :3], target[:, :3])
    torch.testing.assert_close(masked, ref)
    # presence-style 1-D input = N one-pixel masks
    logits = torch.tensor([0., LN3])
    out = SigmoidFocalLoss(reduction='none')(logits, torch.tensor([1., 0.]))
    # [.25 * .25 * ln2, .75 * .75^2 * ln 4]   (p = .75, target 0)
    torch.testing.assert_close(
        out,
        torch.tensor([0.0625 * math.log(2.), 0.75 * 0.5625 * math.log(4.)]))


def test_registry_and_shape_errors():
    dice = MODELS.build(dict(type='DiceLoss', loss_weight=5.))
    focal = MODELS.build(dict(type='SigmoidFocalLoss', loss_weight=20.))
    assert dice.loss_weight == 5. and focal.alpha == 0.25
    with pytest.raises(ValueError, match='same shape'):
        dice(torch.zeros(2, 4, 4), torch.zeros(2, 4, 5))
    with pytest.raises(ValueError, match='weight'):
        focal(torch.zeros(2, 4), torch.zeros(2, 4), weight=torch.ones(3))
    with pytest.raises(ValueError, match='reduction'):
        DiceLoss(reduction='avg')
