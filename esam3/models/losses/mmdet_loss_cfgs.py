# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Configs of MMDetection's losses set up to equal esam3's numerically.

The distillers' default losses and the ``configs/_base_/models/*distiller*``
files use these mmdet losses (``type='mmdet.X'``), since on the inputs the
distillers give them (no padding mask, equal-size masks, non-empty batches)
they compute the same values and gradients as esam3's
:class:`DiceLoss`, :class:`SigmoidFocalLoss`, :class:`BCELoss`,
:class:`L1BoxLoss` and :class:`GIoULoss`; see
``tests/test_models/test_losses/test_mmdet_loss_parity.py``. Settings that
differ from mmdet's defaults are spelled out: mmdet's Dice defaults
(``naive_dice=False``, ``eps=1e-3``) differ from esam3's by up to 0.06.
"""


def mmdet_dice_loss(loss_weight: float = 1.0) -> dict:
    """``mmdet.DiceLoss`` equal to esam3's ``DiceLoss`` (smooth 1)."""
    return dict(
        type='mmdet.DiceLoss',
        use_sigmoid=True,
        activate=True,
        naive_dice=True,
        eps=1.0,
        reduction='mean',
        loss_weight=loss_weight)


def mmdet_focal_loss(loss_weight: float = 1.0) -> dict:
    """``mmdet.FocalLoss`` equal to esam3's ``SigmoidFocalLoss`` for equal-
    size masks, and for 1-D scores also with ``avg_factor``."""
    return dict(
        type='mmdet.FocalLoss',
        use_sigmoid=True,
        gamma=2.0,
        alpha=0.25,
        reduction='mean',
        loss_weight=loss_weight)


def mmdet_bce_loss(loss_weight: float = 1.0) -> dict:
    """``mmdet.CrossEntropyLoss`` on logits, equal to esam3's ``BCELoss``."""
    return dict(
        type='mmdet.CrossEntropyLoss',
        use_sigmoid=True,
        reduction='mean',
        loss_weight=loss_weight)


def mmdet_l1_loss(loss_weight: float = 1.0) -> dict:
    """``mmdet.L1Loss``, equal to esam3's ``L1BoxLoss`` without weights."""
    return dict(type='mmdet.L1Loss', reduction='mean', loss_weight=loss_weight)


def mmdet_giou_loss(loss_weight: float = 1.0) -> dict:
    """``mmdet.GIoULoss`` with esam3's ``GIoULoss`` epsilon."""
    return dict(
        type='mmdet.GIoULoss',
        eps=1e-7,
        reduction='mean',
        loss_weight=loss_weight)
