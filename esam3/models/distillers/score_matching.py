# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Pair a student's detections with the teacher's for score comparisons."""
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor
from torchvision.ops import box_iou


def match_scores(s_scores: Tensor,
                 s_boxes: Tensor,
                 t_scores: Tensor,
                 t_boxes: Tensor,
                 score_thr: float,
                 iou_thr: float = 0.5) -> Tensor:
    """Student / teacher scores of matched detections.

    The teacher's detections (queries scoring above ``score_thr``) are
    matched one-to-one to student queries of any score (so a
    teacher-confident instance the student scores low counts) by box IoU
    with the Hungarian algorithm (scipy); pairs with IoU below ``iou_thr``
    are dropped.

    Args:
        s_scores / t_scores: ``[Q]`` final scores (query x presence).
        s_boxes / t_boxes: ``[Q, 4]`` boxes (any common xyxy frame).
        score_thr: teacher detections kept above this score.
        iou_thr: minimum box IoU of a pair.

    Returns:
        ``[M, 2]`` (student score, teacher score) per matched instance.
    """
    keep = torch.nonzero(t_scores > score_thr).view(-1)
    if keep.numel() == 0:
        return s_scores.new_zeros(0, 2)
    iou = box_iou(t_boxes[keep].float(), s_boxes.float())  # [K, Q]
    rows, cols = linear_sum_assignment(-iou.cpu().numpy())
    rows = torch.as_tensor(rows, device=iou.device, dtype=torch.long)
    cols = torch.as_tensor(cols, device=iou.device, dtype=torch.long)
    good = iou[rows, cols] >= iou_thr
    rows, cols = rows[good], cols[good]
    return torch.stack([s_scores[cols], t_scores[keep[rows]]], dim=1)
