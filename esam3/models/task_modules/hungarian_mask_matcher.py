# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""One-to-one (Hungarian) matching of predicted masks to target masks."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from esam3.registry import TASK_UTILS
from .match_costs import (box_l1_cost, class_cost, dice_cost, focal_cost,
                          giou_cost)


@TASK_UTILS.register_module()
class HungarianMaskMatcher:
    """Bipartite matching with a weighted sum of mask (and box/class) costs.

    ``C[q, g] = w_dice * dice + w_focal * focal (+ w_cls * cls
    + w_box * L1 + w_giou * (-GIoU))`` between predicted masks ``[Q, h, w]``
    (logits) and targets ``[G, h, w]``; the assignment minimising the total
    cost is solved with :func:`scipy.optimize.linear_sum_assignment`. Used
    in Stage 1 to align the student's K multimask outputs with the teacher's
    K outputs, and in Stage 3 to assign queries to GT instances.

    Args:
        cost_dice (float): Weight of the Dice cost. Defaults to 1.0.
        cost_focal (float): Weight of the focal cost. Defaults to 1.0.
        cost_cls (float): Weight of the class cost (needs ``pred_scores``).
            Defaults to 0.
        cost_box (float): Weight of the L1 box cost. Defaults to 0.
        cost_giou (float): Weight of the GIoU box cost. Defaults to 0.
        alpha (float): Focal alpha of the focal/class costs. Defaults 0.25.
        gamma (float): Focal gamma. Defaults to 2.0.
        smooth (float): Dice smoothing. Defaults to 1.0.
    """

    def __init__(self,
                 cost_dice: float = 1.0,
                 cost_focal: float = 1.0,
                 cost_cls: float = 0.0,
                 cost_box: float = 0.0,
                 cost_giou: float = 0.0,
                 alpha: float = 0.25,
                 gamma: float = 2.0,
                 smooth: float = 1.0) -> None:
        self.cost_dice = float(cost_dice)
        self.cost_focal = float(cost_focal)
        self.cost_cls = float(cost_cls)
        self.cost_box = float(cost_box)
        self.cost_giou = float(cost_giou)
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        self.smooth = float(smooth)

    @torch.no_grad()
    def cost_matrix(self,
                    pred_masks: Tensor,
                    gt_masks: Tensor,
                    pred_scores: Optional[Tensor] = None,
                    gt_labels: Optional[Tensor] = None,
                    pred_boxes: Optional[Tensor] = None,
                    gt_boxes: Optional[Tensor] = None) -> Tensor:
        """Total cost ``[Q, G]`` (see :meth:`match` for the arguments)."""
        if pred_masks.dim() != 3 or gt_masks.dim() != 3:
            raise ValueError('HungarianMaskMatcher: masks must be [Q, h, w] '
                             f'and [G, h, w], got {tuple(pred_masks.shape)} '
                             f'and {tuple(gt_masks.shape)}')
        q, g = pred_masks.shape[0], gt_masks.shape[0]
        pred = pred_masks.float()
        tgt = gt_masks.to(pred.device).float()
        if q and g and tgt.shape[-2:] != pred.shape[-2:]:
            tgt = F.interpolate(
                tgt[None],
                size=pred.shape[-2:],
                mode='bilinear',
                align_corners=False)[0]
        pred, tgt = pred.flatten(1), tgt.flatten(1)
        cost = pred.new_zeros(q, g)
        if q == 0 or g == 0:
            return cost
        if self.cost_dice:
            cost += self.cost_dice * dice_cost(pred, tgt, self.smooth)
        if self.cost_focal:
            cost += self.cost_focal * focal_cost(pred, tgt, self.alpha,
                                                 self.gamma)
        if self.cost_cls:
            if pred_scores is None:
                raise ValueError('cost_cls > 0 needs pred_scores')
            cost += self.cost_cls * class_cost(
                pred_scores.float().to(pred.device), g, gt_labels, self.alpha,
                self.gamma)
        if self.cost_box or self.cost_giou:
            if pred_boxes is None or gt_boxes is None:
                raise ValueError('box costs need pred_boxes and gt_boxes')
            if pred_boxes.shape != (q, 4) or gt_boxes.shape != (g, 4):
                raise ValueError(
                    f'boxes must be [Q, 4]=({q}, 4) and [G, 4]=({g}, 4), got '
                    f'{tuple(pred_boxes.shape)} and {tuple(gt_boxes.shape)}')
            gt_boxes = gt_boxes.to(pred.device)
            if self.cost_box:
                cost += self.cost_box * box_l1_cost(pred_boxes, gt_boxes)
            if self.cost_giou:
                cost += self.cost_giou * giou_cost(pred_boxes, gt_boxes)
        return cost

    @torch.no_grad()
    def match(self,
              pred_masks: Tensor,
              gt_masks: Tensor,
              pred_scores: Optional[Tensor] = None,
              gt_labels: Optional[Tensor] = None,
              pred_boxes: Optional[Tensor] = None,
              gt_boxes: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Match predictions to targets.

        Args:
            pred_masks (Tensor): ``[Q, h, w]`` mask logits.
            gt_masks (Tensor): ``[G, h', w']`` targets in [0, 1]; resized
                bilinearly to ``(h, w)`` if the sizes differ.
            pred_scores (Tensor, optional): ``[Q]`` or ``[Q, C]`` logits for
                the class cost.
            gt_labels (Tensor, optional): ``[G]`` labels for ``[Q, C]``.
            pred_boxes (Tensor, optional): ``[Q, 4]`` xyxy boxes.
            gt_boxes (Tensor, optional): ``[G, 4]`` xyxy boxes.

        Returns:
            tuple[Tensor, Tensor]: ``(pred_idx, tgt_idx)``, long tensors of
            length ``min(Q, G)`` on the device of ``pred_masks``, sorted by
            ``pred_idx``; prediction ``pred_idx[i]`` is matched to target
            ``tgt_idx[i]``. Empty when ``Q == 0`` or ``G == 0``.
        """
        cost = self.cost_matrix(pred_masks, gt_masks, pred_scores, gt_labels,
                                pred_boxes, gt_boxes)
        device = pred_masks.device
        if cost.numel() == 0:
            empty = torch.zeros(0, dtype=torch.long, device=device)
            return empty, empty.clone()
        cost = torch.nan_to_num(
            cost.cpu().double(), nan=1e8, posinf=1e8, neginf=-1e8)
        rows, cols = linear_sum_assignment(cost.numpy())
        return (torch.as_tensor(rows, dtype=torch.long, device=device),
                torch.as_tensor(cols, dtype=torch.long, device=device))

    __call__ = match
