# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Binary cross-entropy on logits (presence / object scores)."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from esam3.registry import MODELS
from .utils import check_reduction, check_same_shape, weight_reduce_loss


@MODELS.register_module()
class BCELoss(nn.Module):
    """Element-wise ``binary_cross_entropy_with_logits`` with weight.

    ``loss = w * -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))``,
    reduced by mean (or ``sum / avg_factor``) or sum.

    Equal to ``mmdet.CrossEntropyLoss(use_sigmoid=True)``, which the
    distillers use (see ``mmdet_loss_cfgs.py``). Kept only so that configs
    naming ``type='BCELoss'`` still build, with a shape check that names
    both shapes.

    Args:
        pos_weight (float, optional): Weight of positive examples
            (``pos_weight`` of torch). Defaults to None.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to
            ``'mean'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 pos_weight: Optional[float] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.pos_weight = pos_weight
        self.reduction = check_reduction(reduction)
        self.loss_weight = float(loss_weight)

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Logits, any shape.
            target (Tensor): Same shape, values in [0, 1].
            weight (Tensor, optional): Broadcastable to ``pred``.
            avg_factor (float, optional): Normaliser for ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The weighted loss.
        """
        check_same_shape('BCELoss', pred, target)
        reduction = check_reduction(reduction_override or self.reduction)
        pos_weight = None
        if self.pos_weight is not None:
            pos_weight = pred.new_tensor(self.pos_weight)
        loss = F.binary_cross_entropy_with_logits(
            pred,
            target.to(pred.dtype),
            reduction='none',
            pos_weight=pos_weight)
        loss = weight_reduce_loss(loss, weight, reduction, avg_factor)
        return self.loss_weight * loss
