# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""CgF1 / IL_MCC / pmF1 of video promptable concept segmentation."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pycocotools.mask as mask_utils

from esam3.evaluation.functional import (cgf1_pair_counts, masklet_iou,
                                         to_bool_array)
from esam3.registry import METRICS
from .cgf1_metric import CGF1Metric
from .utils import encode_masks, get_field, normalize_rle, to_numpy


@METRICS.register_module()
class VideoCGF1Metric(CGF1Metric):
    """CgF1 on video / noun-phrase pairs (SA-Co/VEval style).

    Same counting as :class:`CGF1Metric` (IL_MCC over pairs, pmF1 over
    positive pairs averaged over IoU thresholds 0.50:0.05:0.95, cgF1 =
    100 * IL_MCC * pmF1), with masklets instead of masks: predicted and GT
    masklets are matched one-to-one by their spatio-temporal IoU
    (:func:`~esam3.evaluation.functional.masklet_iou`: intersections and
    unions summed over the frames). pHOTA is not computed.

    Each output sample is one clip: ``pred_masklets`` (bool ``[M, T, H, W]``
    or ``[M][T]`` RLEs / ``None``), ``pred_masklet_scores`` ``[M]`` (a
    masklet is kept if its score ``>= score_thr``), ``gt_masklet_rles``
    ``[N][T]`` and ``is_negative`` (must agree with an empty GT).

    Args:
        score_thr (float): Masklet score threshold. Defaults to 0.5.
        iou_thrs (Sequence[float], optional): IoU thresholds.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Metric name prefix.
    """

    TITLE = 'SA-Co video concept segmentation (cgF1 over masklets)'

    def __init__(self,
                 score_thr: float = 0.5,
                 iou_thrs: Optional[Sequence[float]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            score_thr=score_thr,
            iou_thrs=iou_thrs,
            multiply_presence=False,
            collect_device=collect_device,
            prefix=prefix)

    def _kept_masklets(self, sample: Any) -> List[List[Optional[Dict]]]:
        scores = to_numpy(get_field(sample, 'pred_masklet_scores',
                                    [])).astype(float).reshape(-1)
        masklets = get_field(sample, 'pred_masklets', [])
        if len(masklets) != len(scores):
            raise ValueError('VideoCGF1Metric: pred_masklets and '
                             f'pred_masklet_scores differ in length '
                             f'({len(masklets)} vs {len(scores)})')
        keep = np.flatnonzero(scores >= self.score_thr)
        out = []
        for i in keep:
            m = masklets[i]
            if isinstance(m, (list, tuple)):
                out.append(
                    [None if r is None else normalize_rle(r) for r in m])
            else:
                m = to_bool_array(m)
                if m.ndim != 3:
                    raise ValueError('VideoCGF1Metric: a masklet must be '
                                     f'[T, H, W], got {m.shape}')
                out.append([
                    r if m[t].any() else None
                    for t, r in enumerate(encode_masks(m))
                ])
        return out

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Per-pair TP/FP/FN per IoU threshold and video-level outcome."""
        for sample in data_samples:
            gt = [[None if r is None else normalize_rle(r) for r in m]
                  for m in get_field(sample, 'gt_masklet_rles', [])]
            if bool(get_field(sample, 'is_negative', False)) and any(
                    r is not None for m in gt for r in m):
                raise ValueError('VideoCGF1Metric: a pair marked is_negative'
                                 f' has {len(gt)} GT masklets')
            # a GT masklet empty on every frame is no instance
            gt = [
                m for m in gt if any(
                    r is not None and mask_utils.area(r) > 0 for r in m)
            ]
            dt = self._kept_masklets(sample)
            ious = masklet_iou(dt, gt) if dt and gt else np.zeros(
                (len(dt), len(gt)))
            counts = cgf1_pair_counts(ious, self.iou_thrs)
            counts['img_id'] = get_field(sample, 'video_id', None)
            self.results.append(counts)
