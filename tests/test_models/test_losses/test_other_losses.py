# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""MaskedMSE, BCE, L1 box and GIoU losses against hand-computed values."""
import math

import pytest
import torch

from esam3.models.losses import BCELoss, GIoULoss, L1BoxLoss, MaskedMSELoss
from esam3.registry import MODELS


def _features():
    pred = torch.tensor([[[[1., 2.], [3., 4.]], [[0., 0.],
                                                 [0., 2.]]]])  # [1, 2, 2, 2]
    valid = torch.tensor([[[1., 0.], [1., 0.]]])  # [1, 2, 2]: left column
    return pred, torch.zeros_like(pred), valid


def test_masked_mse_hand_values():
    pred, target, valid = _features()
    loss = MaskedMSELoss()
    # valid squared errors: ch0 1^2 + 3^2 = 10, ch1 0 + 0 -> 10
    # 2 valid positions * 2 channels = 4 -> 10 / 4 = 2.5
    assert loss(pred, target, valid).item() == pytest.approx(2.5)
    assert loss(pred, target, valid[:, None]).item() == pytest.approx(2.5)
    # no mask: (1 + 4 + 9 + 16 + 4) / 8 = 34 / 8
    assert loss(pred, target).item() == pytest.approx(4.25)
    assert MaskedMSELoss(reduction='sum')(pred, target, valid).item() == \
        pytest.approx(10.)
    assert MaskedMSELoss(loss_weight=2.)(pred, target, valid).item() == \
        pytest.approx(5.)


def test_masked_mse_ignores_padding():
    pred, target, valid = _features()
    ref = MaskedMSELoss()(pred, target, valid)
    pred2, target2 = pred.clone(), target.clone()
    pred2[..., 1] = 100.
    target2[..., 1] = -7.
    pred2.requires_grad_(True)
    out = MaskedMSELoss()(pred2, target2, valid)
    assert out.item() == pytest.approx(ref.item())
    out.backward()
    assert pred2.grad[..., 1].abs().sum() == 0  # no gradient from padding
    # all padding -> 0, graph kept
    zero = MaskedMSELoss()(pred2, target2, torch.zeros_like(valid))
    assert zero.item() == 0. and zero.requires_grad
    with pytest.raises(ValueError, match='valid_mask'):
        MaskedMSELoss()(pred, target, torch.ones(1, 3, 3))


def test_bce_hand_values():
    pred = torch.tensor([0., math.log(3.)])
    target = torch.tensor([1., 1.])
    # -log(.5) = ln 2 ; -log(.75) = ln(4/3)
    ln2, ln43 = math.log(2.), math.log(4. / 3.)
    assert BCELoss()(pred, target).item() == \
        pytest.approx((ln2 + ln43) / 2)
    w = torch.tensor([1., 3.])
    assert BCELoss()(pred, target, weight=w).item() == \
        pytest.approx((ln2 + 3 * ln43) / 2)
    assert BCELoss(reduction='sum', loss_weight=2.)(pred, target).item() \
        == pytest.approx(2 * (ln2 + ln43))


def test_box_losses_hand_values():
    pred = torch.tensor([[0., 0., 2., 2.]])
    target = torch.tensor([[1., 0., 2., 4.]])
    # |0-1| + 0 + 0 + |2-4| = 3 ; mean over 4 coordinates = .75
    assert L1BoxLoss()(pred, target).item() == pytest.approx(0.75)
    assert L1BoxLoss()(pred, target, avg_factor=1.).item() == \
        pytest.approx(3., rel=1e-5)
    giou = GIoULoss()
    a = torch.tensor([[0., 0., 2., 2.]])
    b = torch.tensor([[1., 1., 3., 3.]])
    # inter 1, union 4 + 4 - 1 = 7, hull 3x3 = 9
    # GIoU = 1/7 - (9 - 7)/9 = -5/63 -> loss = 68/63
    assert giou(a, b).item() == pytest.approx(68 / 63, rel=1e-5)
    assert giou(a, a).item() == pytest.approx(0., abs=1e-6)
    assert MODELS.build(dict(type='GIoULoss', loss_weight=2.))(a, b).item() \
        == pytest.approx(2 * 68 / 63, rel=1e-5)
    with pytest.raises(ValueError, match=r'\[N, 4\]'):
        giou(torch.zeros(2, 5), torch.zeros(2, 5))
