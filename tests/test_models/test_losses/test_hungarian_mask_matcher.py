# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""HungarianMaskMatcher: permutation recovery, costs, edge cases."""
import torch

from esam3.models.losses import DiceLoss, SigmoidFocalLoss
from esam3.models.task_modules import HungarianMaskMatcher
from esam3.registry import TASK_UTILS


def _targets() -> torch.Tensor:
    t = torch.zeros(3, 6, 6)
    t[0, :3, :3] = 1  # top-left
    t[1, 3:, 3:] = 1  # bottom-right
    t[2, :, :2] = 1  # left band (overlaps t[0])
    return t


def test_recovers_shuffled_targets():
    targets = _targets()
    perm = torch.tensor([2, 0, 1])
    preds = (targets[perm] * 2 - 1) * 6.  # prediction q == target perm[q]
    matcher = TASK_UTILS.build(
        dict(type='HungarianMaskMatcher', cost_dice=1., cost_focal=20.))
    pred_idx, tgt_idx = matcher.match(preds, targets)
    assert pred_idx.tolist() == [0, 1, 2]
    assert tgt_idx.tolist() == perm.tolist()
    # the distiller reorders teacher masks with tgt_idx -> aligned pairs
    torch.testing.assert_close(targets[tgt_idx], targets[perm])


def test_cost_equals_losses():
    torch.manual_seed(0)
    preds = torch.randn(2, 6, 6)
    targets = _targets()
    matcher = HungarianMaskMatcher(cost_dice=2., cost_focal=5.)
    cost = matcher.cost_matrix(preds, targets)
    dice = DiceLoss(reduction='none')
    focal = SigmoidFocalLoss(reduction='none')
    for q in range(2):
        for g in range(3):
            expected = 2 * dice(preds[q:q + 1], targets[g:g + 1]) + \
                5 * focal(preds[q:q + 1], targets[g:g + 1])
            torch.testing.assert_close(cost[q, g], expected[0])


def test_empty_and_fewer_predictions():
    targets = _targets()
    matcher = HungarianMaskMatcher()
    pred_idx, tgt_idx = matcher(torch.randn(4, 6, 6), targets[:0])  # G = 0
    assert pred_idx.numel() == 0 and tgt_idx.numel() == 0
    assert pred_idx.dtype == torch.long
    pred_idx, tgt_idx = matcher(torch.randn(0, 6, 6), targets)  # Q = 0
    assert pred_idx.numel() == 0
    # Q = 2 < G = 3: predictions are exact copies of targets 2 and 0
    preds = (targets[[2, 0]] * 2 - 1) * 6.
    pred_idx, tgt_idx = matcher(preds, targets)
    assert pred_idx.tolist() == [0, 1] and tgt_idx.tolist() == [2, 0]


def test_class_and_box_costs_break_ties():
    targets = _targets()[:1]
    preds = (targets.expand(2, -1, -1) * 2 - 1) * 6.  # identical masks
    scores = torch.tensor([-3., 3.])  # query 1 is confident
    matcher = HungarianMaskMatcher(cost_cls=2.)
    pred_idx, tgt_idx = matcher(preds, targets, pred_scores=scores)
    assert pred_idx.tolist() == [1] and tgt_idx.tolist() == [0]
    boxes = torch.tensor([[0., 0., 3., 3.], [3., 3., 6., 6.]])
    gt_box = torch.tensor([[0., 0., 3., 3.]])
    matcher = HungarianMaskMatcher(cost_box=5., cost_giou=2.)
    pred_idx, _ = matcher(preds, targets, pred_boxes=boxes, gt_boxes=gt_box)
    assert pred_idx.tolist() == [0]


def test_target_resized_to_prediction():
    targets = _targets()
    big = torch.nn.functional.interpolate(
        targets[None], scale_factor=2, mode='nearest')[0]
    preds = (targets[[1, 2, 0]] * 2 - 1) * 6.
    _, tgt_idx = HungarianMaskMatcher()(preds, big)
    assert tgt_idx.tolist() == [1, 2, 0]
