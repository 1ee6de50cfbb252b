# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Shared helpers of the esam3 losses: shape checks and weighted reduction."""
from typing import Optional, Sequence

import torch
from torch import Tensor

REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(reduction: str) -> str:
    """Validate a reduction name.

    Args:
        reduction (str): One of ``'none'``, ``'mean'``, ``'sum'``.

    Returns:
        str: The same name.

    Raises:
        ValueError: If the name is unknown.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, '
                         f'got {reduction!r}')
    return reduction


def check_same_shape(name: str, pred: Tensor, target: Tensor) -> None:
    """Raise a clear error if ``pred`` and ``target`` shapes differ."""
    if pred.shape != target.shape:
        raise ValueError(f'{name}: pred {tuple(pred.shape)} and target '
                         f'{tuple(target.shape)} must have the same shape')


def check_ndim(name: str, what: str, tensor: Tensor,
               ndims: Sequence[int]) -> None:
    """Raise a clear error if ``tensor.dim()`` is not in ``ndims``."""
    if tensor.dim() not in ndims:
        raise ValueError(f'{name}: {what} must have {list(ndims)} dims, got '
                         f'shape {tuple(tensor.shape)}')


def weight_reduce_loss(loss: Tensor,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[float] = None) -> Tensor:
    """Apply an element-wise weight, then reduce.

    ``'mean'`` divides the (weighted) sum by ``avg_factor`` when it is given
    (e.g. the number of masks across the batch), else takes the plain mean.

    Args:
        loss (Tensor): Unreduced loss.
        weight (Tensor, optional): Broadcastable to ``loss``.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor (float, optional): Normaliser for ``'mean'``.

    Returns:
        Tensor: Reduced loss (``loss`` itself for ``'none'``).
    """
    check_reduction(reduction)
    if weight is not None:
        loss = loss * weight.to(loss.dtype)
    if reduction == 'none':
        if avg_factor is not None:
            raise ValueError('avg_factor can not be used with reduction '
                             '"none"')
        return loss
    if reduction == 'sum':
        return loss.sum()
    if avg_factor is None:
        if loss.numel() == 0:
            return loss.sum() * 0.
        return loss.mean()
    eps = torch.finfo(loss.dtype).eps
    return loss.sum() / (avg_factor + eps)


def masked_mean_per_item(values: Tensor,
                         valid: Optional[Tensor] = None) -> Tensor:
    """Mean over all dims but the first, counting only valid elements.

    Args:
        values (Tensor): ``[N, ...]``.
        valid (Tensor, optional): Broadcastable to ``values``; 0 = ignore.

    Returns:
        Tensor: ``[N]``; 0 for an item with no valid element.
    """
    if valid is None:
        return values.flatten(1).mean(1) if values.numel() else \
            values.new_zeros(values.shape[0])
    valid = valid.to(values.dtype).expand_as(values)
    num = (values * valid).flatten(1).sum(1)
    den = valid.flatten(1).sum(1)
    return num / den.clamp(min=1.)
