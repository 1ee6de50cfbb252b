# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Detect-and-track: per-frame concept detections linked into masklets by
the memory tracker (video promptable concept segmentation)."""
from typing import Callable, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from esam3.models.trackers.sam3_video_tracker_student import \
    ABSENT_MASK_LOGIT as ABSENT
from esam3.models.trackers.sam3_video_tracker_student import hide_absent


def _binary_iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU matrix of bool masks ``[K, h, w]`` x ``[M, h, w]``."""
    a, b = a.flatten(1).float(), b.flatten(1).float()
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None] - inter
    return inter / union.clamp(min=1)


@torch.no_grad()
def track_concepts(detect: Callable[[int], Tuple[Tensor, Tensor]],
                   trunks: Callable[[int], Tensor],
                   tracker,
                   num_frames: int,
                   input_size: int,
                   assoc_iou: float = 0.5,
                   max_tracks: int = 100) -> Tuple[Tensor, Tensor]:
    """Link per-frame detections of one phrase into masklets.

    SAM 3's video recipe in its simplest form (written here because no
    library offers it for these models): on every frame the existing
    masklets are propagated by the memory tracker (each with its own
    memory bank, see :meth:`Sam3VideoTrackerStudent.new_track`); each
    detection, best score first, continues the unclaimed masklet it
    overlaps most if that IoU is ``>= assoc_iou``, otherwise it starts a new
    masklet prompted with its mask on this frame. A masklet is absent on the
    frames where the tracker's object score is <= 0 and before its start.
    Its score is the mean score of the detections it was linked to.

    Args:
        detect: ``t -> (scores [K], mask_logits [K, h, w])``, the kept
            detections of frame ``t`` (any order).
        trunks: ``t -> trunk map [1, C, h', w']`` of frame ``t``.
        tracker: a :class:`~esam3.models.trackers.Sam3VideoTrackerStudent`.
        num_frames: frames of the video.
        input_size: model input size ``S`` (mask prompts are given at it).
        assoc_iou: IoU linking a detection to a masklet.
        max_tracks: at most this many masklets.

    Returns:
        ``(mask_logits [M, T, h, w], scores [M])``.
    """
    tracks: List[dict] = []
    mask_shape = None
    for t in range(num_frames):
        trunk = trunks(t)
        scores, dets = detect(t)
        if mask_shape is None and dets.numel():
            mask_shape = tuple(dets.shape[-2:])
        current = []
        for tr in tracks:
            logits, obj = tracker.track_step(tr['track'], trunk, t)
            lg = hide_absent(logits, obj)[0, 0]
            tr['logits'][t] = lg
            current.append(lg > 0)
        claimed = set()
        ious = _binary_iou(dets > 0, torch.stack(current)) if current and \
            dets.numel() else None
        for k in scores.argsort(descending=True).tolist():
            if ious is not None:
                row = ious[k].clone()
                if claimed:
                    row[list(claimed)] = -1
                best = int(row.argmax())
                if float(row[best]) >= assoc_iou:
                    claimed.add(best)
                    tracks[best]['scores'].append(float(scores[k]))
                    continue
            if len(tracks) >= max_tracks:
                continue
            prompt = F.interpolate(
                dets[k][None, None],
                size=(input_size, input_size),
                mode='bilinear',
                align_corners=False) > 0
            track = tracker.new_track()
            logits, _ = tracker.track_step(track, trunk, t,
                                           dict(masks=prompt.float()))
            tracks.append(
                dict(
                    track=track,
                    logits={t: logits[0, 0]},
                    scores=[float(scores[k])]))
    if not tracks:
        shape = mask_shape or tuple(tracker.mask_size)
        return torch.zeros(0, num_frames, *shape), torch.zeros(0)
    ref = tracks[0]['logits'][min(tracks[0]['logits'])]
    out = ref.new_full((len(tracks), num_frames) + tuple(ref.shape), ABSENT)
    for m, tr in enumerate(tracks):
        for t, lg in tr['logits'].items():
            out[m, t] = lg
    scores = torch.tensor(
        [sum(tr['scores']) / len(tr['scores']) for tr in tracks])
    return out, scores
