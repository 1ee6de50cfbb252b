# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Pairwise matching costs ``[Q, G]`` between predictions and targets.

Each mask cost equals the corresponding per-mask loss of
:class:`esam3.models.losses.DiceLoss` / :class:`SigmoidFocalLoss` evaluated
for every (prediction, target) pair, so the matcher minimises exactly the
losses computed afterwards.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import generalized_box_iou


def dice_cost(pred_logits: Tensor,
              targets: Tensor,
              smooth: float = 1.0) -> Tensor:
    """Pairwise Dice loss.

    Args:
        pred_logits (Tensor): ``[Q, P]`` mask logits (pixels flattened).
        targets (Tensor): ``[G, P]`` targets in [0, 1].
        smooth (float): Smoothing of :class:`DiceLoss`. Defaults to 1.0.

    Returns:
        Tensor: ``[Q, G]``, ``1 - (2 p.t + s) / (sum p + sum t + s)``.
    """
    prob = pred_logits.sigmoid()
    numer = 2 * prob @ targets.T + smooth
    denom = prob.sum(-1)[:, None] + targets.sum(-1)[None, :] + smooth
    return 1 - numer / denom


def focal_cost(pred_logits: Tensor,
               targets: Tensor,
               alpha: float = 0.25,
               gamma: float = 2.0) -> Tensor:
    """Pairwise sigmoid focal loss averaged over pixels.

    The element-wise focal loss is linear in the target ``t``:
    ``FL = t * pos + (1 - t) * neg`` with ``pos = alpha (1-p)^g (-log p)``
    and ``neg = (1-alpha) p^g (-log(1-p))``, so the pairwise mean is two
    matrix products.

    Args:
        pred_logits (Tensor): ``[Q, P]`` mask logits.
        targets (Tensor): ``[G, P]`` targets in [0, 1].
        alpha (float): Focal alpha (< 0 disables). Defaults to 0.25.
        gamma (float): Focal gamma. Defaults to 2.0.

    Returns:
        Tensor: ``[Q, G]`` mean focal loss of prediction q vs target g.
    """
    prob = pred_logits.sigmoid()
    pos = F.binary_cross_entropy_with_logits(
        pred_logits, torch.ones_like(pred_logits), reduction='none')
    neg = F.binary_cross_entropy_with_logits(
        pred_logits, torch.zeros_like(pred_logits), reduction='none')
    pos = pos * (1 - prob).pow(gamma)
    neg = neg * prob.pow(gamma)
    if alpha >= 0:
        pos, neg = pos * alpha, neg * (1 - alpha)
    num_pix = max(pred_logits.shape[-1], 1)
    return (pos @ targets.T + neg @ (1 - targets).T) / num_pix


def class_cost(pred_logits: Tensor,
               num_targets: int,
               labels: Optional[Tensor] = None,
               alpha: float = 0.25,
               gamma: float = 2.0) -> Tensor:
    """Focal-style classification cost (Deformable-DETR style).

    ``cost = pos - neg`` of the focal terms of the target class
    probability; lower when the prediction is confident.

    Args:
        pred_logits (Tensor): ``[Q]`` (one class, e.g. a concept) or
            ``[Q, C]`` logits.
        num_targets (int): ``G``.
        labels (Tensor, optional): ``[G]`` class indices, needed for
            ``[Q, C]`` logits.
        alpha (float): Focal alpha. Defaults to 0.25.
        gamma (float): Focal gamma. Defaults to 2.0.

    Returns:
        Tensor: ``[Q, G]``.
    """
    prob = pred_logits.sigmoid()
    eps = 1e-8
    neg = (1 - alpha) * prob.pow(gamma) * -(1 - prob + eps).log()
    pos = alpha * (1 - prob).pow(gamma) * -(prob + eps).log()
    cost = pos - neg
    if cost.dim() == 1:
        return cost[:, None].expand(-1, num_targets)
    if labels is None:
        raise ValueError('class_cost: [Q, C] logits need gt labels')
    return cost[:, labels.long()]


def box_l1_cost(pred_boxes: Tensor, gt_boxes: Tensor) -> Tensor:
    """Pairwise L1 distance ``[Q, G]`` between ``[Q, 4]`` and ``[G, 4]``."""
    return torch.cdist(pred_boxes.float(), gt_boxes.float(), p=1)


def giou_cost(pred_boxes: Tensor, gt_boxes: Tensor) -> Tensor:
    """Pairwise ``-GIoU`` ``[Q, G]`` between xyxy boxes."""
    return -generalized_box_iou(pred_boxes.float(), gt_boxes.float())
