# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""L1 loss between boxes."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from esam3.registry import MODELS
from .utils import (check_ndim, check_reduction, check_same_shape,
                    weight_reduce_loss)


@MODELS.register_module()
class L1BoxLoss(nn.Module):
    """Element-wise ``|pred - target|`` on ``[N, 4]`` boxes.

    ``'mean'`` averages over all ``N * 4`` coordinates (or divides the sum
    by ``avg_factor``, e.g. the number of boxes as in DETR).

    Equal to ``mmdet.L1Loss`` without weights, which the distillers use (see
    ``mmdet_loss_cfgs.py``). Kept for per-box weights: a ``[N]`` weight
    applies to the four coordinates of each box, where mmdet's broadcasts
    it against the coordinate dimension (wrong for N = 4, an error else).

    Args:
        reduction (str): ``'none'`` (``[N, 4]``), ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
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
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Boxes ``[N, 4]`` (any consistent format).
            target (Tensor): Boxes ``[N, 4]``.
            weight (Tensor, optional): ``[N]`` or ``[N, 4]``.
            avg_factor (float, optional): Normaliser for ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The weighted loss.
        """
        check_ndim('L1BoxLoss', 'pred', pred, (2, ))
        check_same_shape('L1BoxLoss', pred, target)
        if pred.shape[-1] != 4:
            raise ValueError('L1BoxLoss: boxes must be [N, 4], got '
                             f'{tuple(pred.shape)}')
        reduction = check_reduction(reduction_override or self.reduction)
        if weight is not None and weight.dim() == 1:
            weight = weight[:, None]
        loss = (pred - target.to(pred.dtype)).abs()
        loss = weight_reduce_loss(loss, weight, reduction, avg_factor)
        return self.loss_weight * loss
