# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Dice loss on mask logits."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from esam3.registry import MODELS
from .utils import check_reduction, check_same_shape, weight_reduce_loss


@MODELS.register_module()
class DiceLoss(nn.Module):
    """Per-mask soft Dice loss.

    For every mask ``i`` (first dim; all other dims are pixels), with
    ``p = sigmoid(pred)`` and target ``t`` (binary or soft, in [0, 1]) and
    optional ``valid`` pixels ``v``::

        loss_i = 1 - (2 * sum(p * t * v) + s) / (sum(p * v) + sum(t * v) + s)

    with smoothing ``s`` (SAM / Mask2Former style, ``s = 1``). The per-mask
    losses are then weighted and reduced over masks.

    The distillers use ``mmdet.DiceLoss`` (``naive_dice=True, eps=1.0``),
    which gives the same values (see ``mmdet_loss_cfgs.py``). This class is
    kept for what mmdet's does not do: ``valid_mask`` excludes padded pixels,
    and an empty batch gives 0 instead of NaN.

    Args:
        use_sigmoid (bool): Apply a sigmoid to ``pred`` (logits). If False,
            ``pred`` already holds probabilities. Defaults to True.
        smooth (float): Smoothing ``s`` added to numerator and denominator.
            Defaults to 1.0.
        reduction (str): ``'none'`` (per mask ``[N]``), ``'mean'`` or
            ``'sum'``. Defaults to ``'mean'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 use_sigmoid: bool = True,
                 smooth: float = 1.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.use_sigmoid = use_sigmoid
        self.smooth = float(smooth)
        self.reduction = check_reduction(reduction)
        self.loss_weight = float(loss_weight)

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                valid_mask: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Logits ``[N, ...]`` (e.g. ``[N, h, w]``).
            target (Tensor): Same shape, values in [0, 1].
            weight (Tensor, optional): Per-mask weight ``[N]``.
            avg_factor (float, optional): Normaliser for ``'mean'`` (e.g. the
                number of masks over all GPUs).
            reduction_override (str, optional): Overrides ``reduction``.
            valid_mask (Tensor, optional): Broadcastable to ``pred``; pixels
                where it is 0 are ignored (padding).

        Returns:
            Tensor: The weighted loss (``[N]`` for ``'none'``).
        """
        check_same_shape('DiceLoss', pred, target)
        if pred.dim() < 2:
            raise ValueError('DiceLoss: pred must be [N, ...] with at least '
                             f'one pixel dim, got {tuple(pred.shape)}')
        if weight is not None and weight.shape != pred.shape[:1]:
            raise ValueError(f'DiceLoss: weight must be [N]={pred.shape[0]}, '
                             f'got {tuple(weight.shape)}')
        reduction = check_reduction(reduction_override or self.reduction)
        prob = pred.sigmoid() if self.use_sigmoid else pred
        target = target.to(prob.dtype)
        if valid_mask is not None:
            valid = valid_mask.to(prob.dtype).expand_as(prob)
            prob, target = prob * valid, target * valid
        prob, target = prob.flatten(1), target.flatten(1)
        numer = 2 * (prob * target).sum(1) + self.smooth
        denom = prob.sum(1) + target.sum(1) + self.smooth
        loss = 1 - numer / denom
        loss = weight_reduce_loss(loss, weight, reduction, avg_factor)
        return self.loss_weight * loss
