# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Prompt sampling shared by training (prompt-in-the-loop) and evaluation.

All prompts are expressed as SAM point prompts so that boxes, points and
corrective clicks batch into one tensor: a box is its two corners with the
SAM labels 2 (top-left) and 3 (bottom-right); a click has label 1
(positive) or 0 (negative); -10 marks padding and is ignored by the prompt
encoder. Coordinates are (x, y) in input pixels of the padded image.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

PAD_LABEL = -10
POS_LABEL = 1
NEG_LABEL = 0
BOX_TL_LABEL = 2
BOX_BR_LABEL = 3


def mask_center_point(mask: np.ndarray) -> Tuple[float, float]:
    """The mask pixel farthest from the mask boundary (argmax of the distance
    transform), as (x, y) pixel-centre coordinates.

    Raises:
        ValueError: for an empty mask.
    """
    mask = np.ascontiguousarray(mask.astype(np.uint8))
    if not mask.any():
        raise ValueError('mask_center_point: empty mask')
    # pad so that pixels on the image border count as near a boundary
    padded = np.pad(mask, 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x), float(y)


def masks_to_boxes_xyxy(masks: Tensor) -> Tensor:
    """Tight xyxy boxes (x2/y2 exclusive) of boolean masks ``[N, H, W]``; empty
    masks give a zero box."""
    n = masks.shape[0]
    boxes = masks.new_zeros((n, 4), dtype=torch.float32)
    for i in range(n):
        ys, xs = torch.nonzero(masks[i], as_tuple=True)
        if ys.numel():
            boxes[i] = torch.stack(
                [xs.min(), ys.min(),
                 xs.max() + 1, ys.max() + 1]).float()
    return boxes


def initial_prompts(masks: Tensor,
                    boxes: Tensor,
                    use_box: Tensor,
                    num_slots: int = 2) -> Tuple[Tensor, Tensor]:
    """Per-instance first prompt: its box or its mask-centre point.

    Args:
        masks: bool ``[N, H, W]`` instance masks at input resolution.
        boxes: ``[N, 4]`` xyxy boxes in input pixels.
        use_box: bool ``[N]``: box prompt if True, centre point otherwise.
        num_slots: point slots per prompt (>= 2, padded with -10).

    Returns:
        points ``[N, num_slots, 2]`` and labels ``[N, num_slots]``.
    """
    n = masks.shape[0]
    points = boxes.new_zeros((n, num_slots, 2), dtype=torch.float32)
    labels = torch.full((n, num_slots),
                        PAD_LABEL,
                        dtype=torch.long,
                        device=boxes.device)
    masks_np = None
    for i in range(n):
        if bool(use_box[i]):
            points[i, 0] = boxes[i, :2].float()
            points[i, 1] = boxes[i, 2:].float()
            labels[i, 0], labels[i, 1] = BOX_TL_LABEL, BOX_BR_LABEL
        else:
            if masks_np is None:
                masks_np = masks.detach().cpu().numpy()
            x, y = mask_center_point(masks_np[i])
            points[i, 0] = torch.tensor([x, y])
            labels[i, 0] = POS_LABEL
    return points, labels


def sample_corrective_points(
        pred: Tensor,
        target: Tensor,
        input_size: int,
        min_region: int = 10,
        generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """One corrective click per instance, drawn uniformly from the error region
    between a prediction and a target (both bool ``[N, h, w]``).

    A click on a false-negative pixel (target on, prediction off) is
    positive (label 1); on a false-positive pixel negative (label 0).
    Instances whose error region is smaller than ``min_region`` pixels get
    a padding click (label -10). Pixel centres are mapped to input pixels
    of an ``input_size`` square image.

    Returns:
        points ``[N, 2]`` (x, y) and labels ``[N]``.
    """
    n, h, w = pred.shape
    fn = target & ~pred
    error = (fn | (pred & ~target)).flatten(1)
    count = error.sum(1)
    ok = count >= max(1, min_region)
    weights = error.float()
    weights[~ok] = 1.0  # any index; the click is padded below
    idx = torch.multinomial(weights, 1, generator=generator).squeeze(1)
    ys, xs = idx // w, idx % w
    points = torch.stack([(xs.float() + 0.5) * input_size / w,
                          (ys.float() + 0.5) * input_size / h],
                         dim=1)
    is_fn = fn.flatten(1).gather(1, idx[:, None]).squeeze(1)
    labels = torch.where(is_fn, POS_LABEL, NEG_LABEL).long()
    labels[~ok] = PAD_LABEL
    return points, labels


def add_corrective_click(points: Tensor,
                         labels: Tensor,
                         valid: Tensor,
                         slot: int,
                         pred: Tensor,
                         target: Tensor,
                         input_size: int,
                         min_region: int = 10) -> None:
    """Write one :func:`sample_corrective_points` click per prompt of a padded
    batch into click slot ``slot``, in place.

    Args:
        points: ``[B, P, S, 2]`` click coordinates.
        labels: ``[B, P, S]`` click labels.
        valid: bool ``[B, P]``, False for padding prompts (they get
            ``PAD_LABEL``).
        slot: the slot to fill.
        pred, target: bool ``[B, P, h, w]`` masks whose error region the
            click is drawn from.
        input_size, min_region: as :func:`sample_corrective_points`.
    """
    b, p = valid.shape
    cpts, clbl = sample_corrective_points(
        pred.flatten(0, 1), target.flatten(0, 1), input_size, min_region)
    clbl = clbl.view(b, p)
    points[:, :, slot] = cpts.view(b, p, 2)
    labels[:, :, slot] = torch.where(valid, clbl,
                                     torch.full_like(clbl, PAD_LABEL))


def farthest_error_click(pred: np.ndarray,
                         target: np.ndarray) -> Tuple[float, float, int]:
    """Deterministic evaluation click (RITM/SAM protocol): the point deepest
    inside the larger error region (false negatives vs false positives).

    Returns:
        (x, y, label) with label 1 for a false-negative click, 0 for a
        false-positive click; (0, 0, -10) when prediction equals target.
    """
    fn = target & ~pred
    fp = pred & ~target
    if not fn.any() and not fp.any():
        return 0.0, 0.0, PAD_LABEL
    fn_depth = cv2.distanceTransform(
        np.pad(fn, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    fp_depth = cv2.distanceTransform(
        np.pad(fp, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    positive = fn_depth.max() >= fp_depth.max()
    depth = fn_depth if positive else fp_depth
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return float(x), float(y), POS_LABEL if positive else NEG_LABEL


def pad_prompt_batch(per_image: Sequence[Tuple[Tensor, Tensor,
                                               Tensor]], num_slots: int,
                     device) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Pad every image's prompts to one count (at least 1).

    Args:
        per_image: per image ``(points [n, slots, 2], labels [n, slots],
            masks [n, S, S])``.
        num_slots: prompt slots per instance.
        device: device of the outputs.

    Returns:
        points ``[B, P, slots, 2]``, labels ``[B, P, slots]`` (padding:
        ``PAD_LABEL``), valid ``[B, P]`` and GT masks ``[B, P, S, S]``.
    """
    b = len(per_image)
    pm = max(1, max(p[0].shape[0] for p in per_image))
    size = per_image[0][2].shape[-2:]
    points = torch.zeros(b, pm, num_slots, 2, device=device)
    labels = torch.full((b, pm, num_slots),
                        PAD_LABEL,
                        dtype=torch.long,
                        device=device)
    valid = torch.zeros(b, pm, dtype=torch.bool, device=device)
    gt = torch.zeros(b, pm, *size, dtype=torch.bool, device=device)
    for i, (pts, lbl, masks) in enumerate(per_image):
        n = pts.shape[0]
        points[i, :n], labels[i, :n], valid[i, :n] = pts, lbl, True
        gt[i, :n] = masks
    return points, labels, valid, gt
