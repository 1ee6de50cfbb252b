# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import numpy as np
import pytest
import torch

from esam3.models.utils import prompts as P


def test_mask_center_point_is_deepest_pixel():
    mask = np.zeros((20, 30), bool)
    mask[4:15, 5:26] = True  # 11 x 21 rectangle, centre row 9, col 15
    x, y = P.mask_center_point(mask)
    assert y == 9.0
    assert 10 <= x <= 20  # anywhere on the medial ridge of the rectangle
    assert mask[int(y), int(x)]
    with pytest.raises(ValueError, match='empty'):
        P.mask_center_point(np.zeros((4, 4), bool))


def test_center_point_on_border_touching_mask_stays_inside():
    mask = np.zeros((10, 10), bool)
    mask[:, :3] = True  # touches the image border
    x, y = P.mask_center_point(mask)
    assert x == 1.0 and mask[int(y), int(x)]


def test_initial_prompts_box_and_point_encoding():
    masks = torch.zeros(2, 16, 16, dtype=torch.bool)
    masks[0, 2:6, 3:9] = True
    masks[1, 8:15, 8:15] = True
    boxes = torch.tensor([[3., 2, 9, 6], [8, 8, 15, 15]])
    pts, lbl = P.initial_prompts(
        masks, boxes, torch.tensor([True, False]), num_slots=3)
    assert pts.shape == (2, 3, 2) and lbl.shape == (2, 3)
    assert lbl[0].tolist() == [2, 3, -10]
    assert pts[0, :2].tolist() == [[3., 2.], [9., 6.]]
    assert lbl[1].tolist() == [1, -10, -10]
    assert pts[1, 0].tolist() == [11., 11.]  # centre of the 7x7 square


def test_box_probability_split_is_respected():
    torch.manual_seed(0)
    use_box = torch.rand(20000) < 0.5
    assert abs(use_box.float().mean().item() - 0.5) < 0.02


def test_corrective_points_labels_from_hand_made_masks():
    # instance 0: student misses the right half (false negatives only)
    # instance 1: student adds a blob outside the target (false positives)
    # instance 2: identical masks -> padding click
    target = torch.zeros(3, 8, 8, dtype=torch.bool)
    pred = torch.zeros(3, 8, 8, dtype=torch.bool)
    target[0, 2:6, 0:8] = True
    pred[0, 2:6, 0:4] = True
    target[1, 0:2, 0:2] = True
    pred[1, 0:2, 0:2] = True
    pred[1, 5:8, 5:8] = True
    target[2, 3:5, 3:5] = True
    pred[2, 3:5, 3:5] = True
    g = torch.Generator().manual_seed(0)
    pts, lbl = P.sample_corrective_points(
        pred, target, input_size=64, min_region=4, generator=g)
    assert lbl.tolist() == [1, 0, -10]
    # instance 0 click lies in the FN region: columns 4..7, rows 2..5
    col, row = pts[0, 0].item() / 8 - 0.5, pts[0, 1].item() / 8 - 0.5
    assert 4 <= col <= 7 and 2 <= row <= 5
    col, row = pts[1, 0].item() / 8 - 0.5, pts[1, 1].item() / 8 - 0.5
    assert 5 <= col <= 7 and 5 <= row <= 7


def test_corrective_points_skip_tiny_regions():
    target = torch.zeros(1, 8, 8, dtype=torch.bool)
    pred = target.clone()
    pred[0, 0, 0:3] = True  # 3 px of error < min_region
    _, lbl = P.sample_corrective_points(pred, target, 8, min_region=4)
    assert lbl.tolist() == [-10]


def test_corrective_labels_follow_region_sizes_statistically():
    target = torch.zeros(1, 10, 10, dtype=torch.bool)
    target[0, :, :5] = True
    pred = torch.zeros(1, 10, 10, dtype=torch.bool)
    pred[0, :, 2:8] = True  # FN: 20 px (cols 0,1); FP: 30 px (cols 5..7)
    g = torch.Generator().manual_seed(1)
    labels = [
        P.sample_corrective_points(pred, target, 10, 1, g)[1].item()
        for _ in range(2000)
    ]
    frac_pos = np.mean(np.array(labels) == 1)
    assert abs(frac_pos - 20 / 50) < 0.04


def test_farthest_error_click():
    target = np.zeros((12, 12), bool)
    target[2:10, 2:10] = True
    pred = np.zeros((12, 12), bool)
    pred[2:10, 2:5] = True
    x, y, label = P.farthest_error_click(pred, target)
    assert label == 1 and target[int(y), int(x)] and not pred[int(y), int(x)]
    assert P.farthest_error_click(target, target)[2] == -10
    x, y, label = P.farthest_error_click(target | (np.eye(12, dtype=bool)),
                                         target)
    assert label == 0


def test_masks_to_boxes():
    m = torch.zeros(2, 6, 6, dtype=torch.bool)
    m[0, 1:3, 2:5] = True
    assert P.masks_to_boxes_xyxy(m).tolist() == [[2., 1., 5., 3.],
                                                 [0., 0., 0., 0.]]


def test_pad_prompt_batch_pads_to_the_largest_image():
    from esam3.models.utils.prompts import PAD_LABEL, pad_prompt_batch
    pts_a = torch.tensor([[[1., 2.], [3., 4.]], [[5., 6.], [7., 8.]]])
    lbl_a = torch.tensor([[2, 3], [1, PAD_LABEL]])
    masks_a = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks_a[1, 1:3, 1:3] = True
    pts_b = torch.tensor([[[9., 9.], [0., 0.]]])
    lbl_b = torch.tensor([[1, PAD_LABEL]])
    masks_b = torch.ones(1, 4, 4, dtype=torch.bool)
    empty = (torch.zeros(0, 2, 2), torch.zeros(0, 2, dtype=torch.long),
             torch.zeros(0, 4, 4, dtype=torch.bool))
    points, labels, valid, gt = pad_prompt_batch(
        [(pts_a, lbl_a, masks_a), (pts_b, lbl_b, masks_b), empty], 2, 'cpu')
    assert points.shape == (3, 2, 2, 2) and gt.shape == (3, 2, 4, 4)
    assert valid.tolist() == [[True, True], [True, False], [False, False]]
    assert torch.equal(points[0], pts_a)
    assert torch.equal(points[1, 0], pts_b[0])
    assert (points[1, 1] == 0).all() and (labels[1, 1] == PAD_LABEL).all()
    assert (labels[2] == PAD_LABEL).all()
    assert torch.equal(gt[0], masks_a) and gt[1, 0].all() and not gt[2].any()
    # no instance anywhere still gives one (invalid) slot per image
    points, _, valid, _ = pad_prompt_batch([empty], 2, 'cpu')
    assert points.shape == (1, 1, 2, 2) and not valid.any()


def test_add_corrective_click_fills_one_slot_and_pads_padding_prompts():
    pred = torch.zeros(1, 2, 4, 4, dtype=torch.bool)
    target = torch.zeros(1, 2, 4, 4, dtype=torch.bool)
    target[0, :, 1, 2] = True  # one false-negative pixel: (x=2, y=1)
    points = torch.zeros(1, 2, 3, 2)
    labels = torch.full((1, 2, 3), 7)
    valid = torch.tensor([[True, False]])
    P.add_corrective_click(points, labels, valid, 1, pred, target, 8, 1)
    # pixel centre (2.5, 1.5) of a 4-px mask on an 8-px input
    assert points[0, 0, 1].tolist() == [5.0, 3.0]
    assert labels[0, :, 1].tolist() == [P.POS_LABEL, P.PAD_LABEL]
    # the other slots are untouched
    assert labels[0, :, 0].tolist() == [7, 7]
    assert labels[0, :, 2].tolist() == [7, 7]
    assert points[0, :, [0, 2]].abs().sum() == 0
