# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Generalized IoU loss between xyxy boxes."""
from typing import Optional

import torch.nn as nn
from torch import Tensor
from torchvision.ops import generalized_box_iou_loss

from esam3.registry import MODELS
from .utils import (check_ndim, check_reduction, check_same_shape,
                    weight_reduce_loss)


@MODELS.register_module()
class GIoULoss(nn.Module):
    """``1 - GIoU(pred_i, target_i)`` for paired ``[N, 4]`` xyxy boxes.

    Uses :func:`torchvision.ops.generalized_box_iou_loss` per pair.

    Equal to ``mmdet.GIoULoss(eps=1e-7)``, which the distillers use (see
    ``mmdet_loss_cfgs.py``). Kept only so that configs naming
    ``type='GIoULoss'`` still build, with errors that name the bad shape
    (mmdet's raises a bare AssertionError).

    Args:
        eps (float): Numerical epsilon of the IoU. Defaults to 1e-7.
        reduction (str): ``'none'`` (``[N]``), ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 eps: float = 1e-7,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.eps = float(eps)
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
            pred (Tensor): Boxes ``[N, 4]`` as ``(x1, y1, x2, y2)``.
            target (Tensor): Boxes ``[N, 4]`` as ``(x1, y1, x2, y2)``.
            weight (Tensor, optional): ``[N]``.
            avg_factor (float, optional): Normaliser for ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The weighted loss.
        """
        check_ndim('GIoULoss', 'pred', pred, (2, ))
        check_same_shape('GIoULoss', pred, target)
        if pred.shape[-1] != 4:
            raise ValueError('GIoULoss: boxes must be [N, 4] xyxy, got '
                             f'{tuple(pred.shape)}')
        reduction = check_reduction(reduction_override or self.reduction)
        loss = generalized_box_iou_loss(
            pred, target.to(pred.dtype), reduction='none', eps=self.eps)
        loss = weight_reduce_loss(loss, weight, reduction, avg_factor)
        return self.loss_weight * loss
