# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""J, boundary F and MCC against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from esam3.evaluation.functional import (boundary_precision_recall,
                                         boundary_tolerance, cgf1_pair_counts,
                                         db_eval_boundary, db_eval_iou,
                                         mask_iou, mcc, pairwise_mask_iou,
                                         seg_to_boundary)


def _box(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def test_j_hand_values():
    a = _box(4, 4, 0, 4, 0, 2)  # left half, 8 px
    assert db_eval_iou(a, a) == 1.0
    assert db_eval_iou(a, _box(4, 4, 0, 4, 2, 4)) == 0.0  # disjoint
    # pred = left half inside gt = everything: 8 / 16
    assert db_eval_iou(np.ones((4, 4)), a) == pytest.approx(0.5)
    # cols 0-1 vs cols 1-2: inter 4, union 12
    assert db_eval_iou(a, _box(4, 4, 0, 4, 1, 3)) == pytest.approx(1 / 3)
    empty = np.zeros((4, 4), dtype=bool)
    assert db_eval_iou(empty, empty) == 1.0  # DAVIS: both empty -> 1
    assert db_eval_iou(a, empty) == 0.0
    batch = mask_iou(
        torch.from_numpy(np.stack([a, empty])),
        torch.from_numpy(np.stack([a, a])))
    np.testing.assert_allclose(batch, [1.0, 0.0])
    pw = pairwise_mask_iou(
        np.stack([a, np.ones((4, 4))]), np.stack([a, _box(4, 4, 0, 4, 1, 3)]))
    np.testing.assert_allclose(pw, [[1, 1 / 3], [0.5, 0.5]])


def test_boundary_map_and_tolerance():
    seg = _box(4, 4, 1, 3, 1, 3)  # 2x2 square in the middle
    # a pixel is boundary if it differs from its right, bottom or
    # bottom-right neighbour (inside the image)
    expected = np.array(
        [[1, 1, 1, 0], [1, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(seg_to_boundary(seg), expected)
    # 100x100: ceil(0.008 * 141.42) = ceil(1.131) = 2
    assert boundary_tolerance(100, 100) == 2
    # DAVIS 480p: ceil(0.008 * hypot(480, 854) = 7.837) = 8
    assert boundary_tolerance(480, 854) == 8
    assert boundary_tolerance(10, 10, bound_th=3) == 3


def test_f_measure_hand_values():
    top = _box(100, 100, 0, 50, 0, 100)  # boundary = row 49 (100 px)
    assert db_eval_boundary(top, top) == 1.0
    far = _box(100, 100, 80, 90, 80, 90)
    assert db_eval_boundary(top, far) == 0.0  # boundaries > 2 px apart
    # shifted down by 2 <= tolerance 2 -> every pixel matched
    assert db_eval_boundary(top, _box(100, 100, 0, 52, 0, 100)) == 1.0
    # shifted by 3 > tolerance -> nothing matched
    assert db_eval_boundary(top, _box(100, 100, 0, 53, 0, 100)) == 0.0
    # step: cols 0-49 end at row 49, cols 50-99 at row 54.
    # pred boundary: row 49 cols 0-49 (50) + col 49 rows 50-54 (5)
    #   + row 54 cols 50-99 (50) = 105 px; within disk(2) of GT row 49:
    #   50 + rows 50, 51 of col 49 = 52  -> P = 52/105
    # GT boundary row 49 (100 px) within disk(2) of pred boundary:
    #   cols 0-49 + col 50 ((50,49) at dist sqrt 2) + col 51 ((49,49) at
    #   dist 2) = 52 -> R = 52/100 ; F = 2*52 / (105 + 100) = 104/205
    step = top.copy()
    step[50:55, 50:] = True
    p, r = boundary_precision_recall(step, top)
    assert (p, r) == (pytest.approx(52 / 105), pytest.approx(52 / 100))
    assert db_eval_boundary(top, step) == pytest.approx(104 / 205)
    empty = np.zeros((100, 100), dtype=bool)
    assert db_eval_boundary(empty, empty) == 1.0
    assert db_eval_boundary(top, empty) == 0.0  # P = 1, R = 0
    assert db_eval_boundary(empty, top) == 0.0  # P = 0, R = 1


def test_mcc_hand_values():
    # (3*2 - 1*1) / sqrt(4 * 4 * 3 * 3) = 5 / 12
    assert mcc(3, 1, 2, 1) == pytest.approx(5 / 12)
    assert mcc(4, 0, 5, 0) == 1.0
    assert mcc(0, 2, 0, 2) == -1.0  # -4 / sqrt(2*2*2*2)
    assert mcc(3, 0, 0, 0) == 0.0  # degenerate -> 0
    assert math.isfinite(mcc(0, 0, 0, 0))


def test_cgf1_pair_counts():
    # 2 kept predictions, 1 GT; Hungarian pairs pred 1 (IoU .72) to it
    ious = np.array([[0.1], [0.72]])
    c = cgf1_pair_counts(ious)
    # thresholds .5 .55 .6 .65 .7 pass (5), .75 ... .95 fail
    assert c['il'] == 'TP'
    assert c['tp'].tolist() == [1] * 5 + [0] * 5
    assert c['fp'].tolist() == [1] * 5 + [2] * 5
    assert c['fn'].tolist() == [0] * 5 + [1] * 5
    assert cgf1_pair_counts(np.zeros((0, 2)))['il'] == 'FN'
    assert cgf1_pair_counts(np.zeros((3, 0)))['fp'].tolist() == [3] * 10
    assert cgf1_pair_counts(np.zeros((0, 0)))['il'] == 'TN'
