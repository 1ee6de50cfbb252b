# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Feature-map MSE that ignores padded positions."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from esam3.registry import MODELS
from .utils import check_ndim, check_reduction, check_same_shape


@MODELS.register_module()
class MaskedMSELoss(nn.Module):
    """Mean squared error between feature maps over valid positions only.

    Used for Stage-1 encoder distillation (``||Proj(F_S) - F_T||^2``) where
    the bottom/right padding of the input must not contribute. With
    ``pred``/``target`` ``[B, C, h, w]`` and ``valid`` ``[B, 1, h, w]`` (or
    ``[B, h, w]``)::

        'mean': sum_{b,c,y,x} v (pred - target)^2 / (C * sum_{b,y,x} v)
        'sum' : sum_{b,c,y,x} v (pred - target)^2
        'none': v (pred - target)^2   (shape [B, C, h, w])

    i.e. ``'mean'`` averages over valid positions and channels, so the value
    does not change with the amount of padding and padded values have no
    effect. With no valid position the loss is 0 (graph kept).

    Args:
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to
            ``'mean'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.loss_weight = float(loss_weight)

    def forward(self,
                pred: Tensor,
                target: Tensor,
                valid_mask: Optional[Tensor] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Student features ``[B, C, h, w]``.
            target (Tensor): Teacher features ``[B, C, h, w]``.
            valid_mask (Tensor, optional): ``[B, 1, h, w]`` or ``[B, h, w]``,
                1 = real image, 0 = padding. None = all valid.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The weighted loss.
        """
        check_ndim('MaskedMSELoss', 'pred', pred, (4, ))
        check_same_shape('MaskedMSELoss', pred, target)
        reduction = check_reduction(reduction_override or self.reduction)
        b, c, h, w = pred.shape
        if valid_mask is None:
            valid = pred.new_ones(b, 1, h, w)
        else:
            valid = valid_mask[:, None] if valid_mask.dim() == 3 \
                else valid_mask
            if valid.shape != (b, 1, h, w):
                raise ValueError(
                    'MaskedMSELoss: valid_mask must be [B, 1, h, w] or '
                    f'[B, h, w] = {(b, 1, h, w)}, got '
                    f'{tuple(valid_mask.shape)}')
            valid = valid.to(pred.dtype)
        sq = (pred - target.to(pred.dtype)).pow(2) * valid
        if reduction == 'none':
            loss = sq
        elif reduction == 'sum':
            loss = sq.sum()
        else:
            denom = valid.sum() * c
            loss = sq.sum() / denom.clamp(min=1.)
        return self.loss_weight * loss
