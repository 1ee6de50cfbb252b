# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Sigmoid focal loss written in plain torch (no compiled mmcv op)."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from esam3.registry import MODELS
from .utils import (check_reduction, check_same_shape, masked_mean_per_item,
                    weight_reduce_loss)


def sigmoid_focal_loss_map(pred: Tensor,
                           target: Tensor,
                           alpha: float = 0.25,
                           gamma: float = 2.0) -> Tensor:
    """Element-wise sigmoid focal loss (Lin et al., 2017).

    With ``p = sigmoid(pred)``, ``p_t = p t + (1 - p)(1 - t)`` and
    ``alpha_t = alpha t + (1 - alpha)(1 - t)``::

        FL = alpha_t * (1 - p_t) ** gamma * BCE(pred, t)

    ``alpha < 0`` disables the alpha weighting.

    Args:
        pred (Tensor): Logits.
        target (Tensor): Same shape, values in [0, 1].
        alpha (float): Positive-class weight. Defaults to 0.25.
        gamma (float): Focusing exponent. Defaults to 2.0.

    Returns:
        Tensor: Unreduced loss, same shape as ``pred``.
    """
    target = target.to(pred.dtype)
    prob = pred.sigmoid()
    ce = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
    p_t = prob * target + (1 - prob) * (1 - target)
    loss = ce * (1 - p_t).pow(gamma)
    if alpha >= 0:
        loss = loss * (alpha * target + (1 - alpha) * (1 - target))
    return loss


@MODELS.register_module()
class SigmoidFocalLoss(nn.Module):
    """Sigmoid focal loss on mask (or score) logits, averaged per mask.

    The element-wise focal loss (see :func:`sigmoid_focal_loss_map`) is
    first averaged over the pixels of each mask (first dim = mask, the rest
    = pixels; only ``valid_mask`` pixels count), giving one value per mask.
    The per-mask values are then reduced: ``'mean'`` averages over masks, or
    divides their sum by ``avg_factor`` when given (normalising by the number
    of masks, e.g. over all GPUs, as in DETR/SAM).

    The distillers use ``mmdet.FocalLoss``, equal for equal-size masks (and
    for 1-D scores with ``avg_factor``; see ``mmdet_loss_cfgs.py``). This
    class is kept for what mmdet's does not do: per-mask averaging over
    ``valid_mask`` pixels, ``avg_factor`` counting masks rather than pixels,
    ``alpha < 0``, and 0 instead of NaN for an empty batch.

    Args:
        alpha (float): Positive-class weight; < 0 disables. Defaults to 0.25.
        gamma (float): Focusing exponent. Defaults to 2.0.
        reduction (str): ``'none'`` (``[N]``), ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 alpha: float = 0.25,
                 gamma: float = 2.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)
        self.gamma = float(gamma)
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
            pred (Tensor): Logits ``[N, ...]``; a 1-D ``[N]`` input is
                treated as N one-pixel masks (e.g. presence scores).
            target (Tensor): Same shape, values in [0, 1].
            weight (Tensor, optional): Per-mask weight ``[N]``.
            avg_factor (float, optional): Normaliser for ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.
            valid_mask (Tensor, optional): Broadcastable to ``pred``; 0 =
                ignored pixel.

        Returns:
            Tensor: The weighted loss (``[N]`` for ``'none'``).
        """
        check_same_shape('SigmoidFocalLoss', pred, target)
        if pred.dim() == 0:
            raise ValueError('SigmoidFocalLoss: pred must be [N, ...], got a '
                             'scalar')
        if weight is not None and weight.shape != pred.shape[:1]:
            raise ValueError('SigmoidFocalLoss: weight must be '
                             f'[N]={pred.shape[0]}, got '
                             f'{tuple(weight.shape)}')
        reduction = check_reduction(reduction_override or self.reduction)
        if pred.dim() == 1:
            pred, target = pred[:, None], target[:, None]
            if valid_mask is not None and valid_mask.dim() == 1:
                valid_mask = valid_mask[:, None]
        loss = sigmoid_focal_loss_map(pred, target, self.alpha, self.gamma)
        loss = masked_mean_per_item(loss, valid_mask)
        loss = weight_reduce_loss(loss, weight, reduction, avg_factor)
        return self.loss_weight * loss
