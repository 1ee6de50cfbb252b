# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SA-Co promptable concept segmentation metric (cgF1, IL_MCC, pmF1)."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pycocotools.mask as mask_utils
from mmengine.evaluator import BaseMetric

from esam3.evaluation.functional import (COCO_IOU_THRS, cgf1_pair_counts,
                                         cgf1_summary, to_bool_array)
from esam3.registry import METRICS
from .utils import encode_masks, get_field, log_table, normalize_rle, to_numpy


@METRICS.register_module()
class CGF1Metric(BaseMetric):
    """Classification-gated F1 of SAM 3 on image-phrase pairs.

    Every output sample is one (image, noun phrase) pair. Its predictions
    are ``pred_instances.masks`` (bool ``[K, H_ori, W_ori]`` or a list of
    COCO RLEs) with ``pred_instances.scores`` ``[K]`` and an optional
    image-level ``presence_score``; GT are the metainfo ``gt_rles`` (empty
    for a negative pair, ``is_negative`` must agree).

    A prediction is kept if its score ``>= score_thr`` (0.5 as in SAM 3),
    where the score is ``scores * presence_score`` when ``multiply_presence``
    (SAM 3 scores each query by ``sigmoid(logit) * sigmoid(presence)``;
    set False if the model already folded presence into ``scores``). See
    :mod:`esam3.evaluation.functional.cgf1` for the exact definitions:
    image-level presence confusion -> ``IL_MCC``; Hungarian IoU matching
    of the kept masks to the GT, micro F1 over positive pairs averaged over
    IoU thresholds 0.50:0.05:0.95 -> ``pmF1``; ``cgF1 = 100 * IL_MCC *
    pmF1``. Only per-pair counts are kept in ``self.results``.

    Returns ``cgF1``, ``IL_MCC`` (in [-1, 1]), ``pmF1`` (percent),
    ``cgF1@0.5``, ``cgF1@0.75``, ``pmF1@0.5``, ``pmF1@0.75``,
    ``positive_pairs`` and ``negative_pairs``; logs a table.

    Args:
        score_thr (float): Score threshold. Defaults to 0.5.
        iou_thrs (Sequence[float], optional): IoU thresholds. Defaults to
            0.50:0.05:0.95.
        multiply_presence (bool): Multiply ``scores`` by
            ``presence_score``. Defaults to True.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Prefix of the metric names.
    """
    default_prefix: Optional[str] = None
    TITLE = 'SA-Co concept segmentation (cgF1)'

    def __init__(self,
                 score_thr: float = 0.5,
                 iou_thrs: Optional[Sequence[float]] = None,
                 multiply_presence: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.score_thr = float(score_thr)
        self.iou_thrs = np.asarray(
            COCO_IOU_THRS if iou_thrs is None else iou_thrs, dtype=float)
        self.multiply_presence = multiply_presence

    def _kept_rles(self, sample: Any, shape: Sequence[int]) -> List[Dict]:
        """RLEs of the predictions whose final score passes the threshold."""
        pred = get_field(sample, 'pred_instances', None)
        if pred is None:
            return []
        scores = to_numpy(get_field(pred, 'scores')).astype(float).reshape(-1)
        presence = get_field(sample, 'presence_score', None)
        if self.multiply_presence and presence is not None:
            scores = scores * float(to_numpy(presence).reshape(-1)[0])
        keep = np.flatnonzero(scores >= self.score_thr)
        masks = get_field(pred, 'masks')
        if isinstance(masks, (list, tuple)):  # already RLE-encoded
            if len(masks) != len(scores):
                raise ValueError('CGF1Metric: masks and scores differ in '
                                 f'length ({len(masks)} vs {len(scores)})')
            return [normalize_rle(masks[i]) for i in keep]
        masks = to_bool_array(masks)
        if masks.ndim != 3 or masks.shape[0] != len(scores):
            raise ValueError('CGF1Metric: pred_instances.masks must be '
                             f'[K, H, W] with K = len(scores) = '
                             f'{len(scores)}, got {masks.shape}')
        if shape is not None and masks.shape[1:] != tuple(shape):
            raise ValueError(f'CGF1Metric: predicted masks {masks.shape[1:]}'
                             f' are not at the GT resolution {tuple(shape)}')
        return encode_masks(masks[keep])

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Per-pair TP/FP/FN per IoU threshold and image-level outcome."""
        for sample in data_samples:
            gt_rles = [
                normalize_rle(r) for r in get_field(sample, 'gt_rles', [])
            ]
            is_negative = bool(get_field(sample, 'is_negative', False))
            if is_negative and gt_rles:
                raise ValueError('CGF1Metric: a pair marked is_negative has '
                                 f'{len(gt_rles)} GT instances')
            shape = tuple(gt_rles[0]['size']) if gt_rles else None
            if shape is None:
                ori = get_field(sample, 'ori_shape', None)
                shape = tuple(ori[:2]) if ori is not None else None
            dt_rles = self._kept_rles(sample, shape)
            if dt_rles and gt_rles:
                ious = np.asarray(
                    mask_utils.iou(dt_rles, gt_rles, [0] * len(gt_rles)),
                    dtype=float)
                ious = ious.reshape(len(dt_rles), len(gt_rles))
            else:
                ious = np.zeros((len(dt_rles), len(gt_rles)))
            counts = cgf1_pair_counts(ious, self.iou_thrs)
            counts['img_id'] = get_field(sample, 'img_id', None)
            self.results.append(counts)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Aggregate to cgF1 / IL_MCC / pmF1 and log a table."""
        summary = cgf1_summary(results, self.iou_thrs)
        keys = [
            'cgF1', 'IL_MCC', 'pmF1', 'cgF1@0.5', 'cgF1@0.75', 'pmF1@0.5',
            'pmF1@0.75'
        ]
        metrics = {k: float(summary[k]) for k in keys if k in summary}
        metrics['positive_pairs'] = int(summary['positive_pairs'])
        metrics['negative_pairs'] = int(summary['negative_pairs'])
        rows = [[
            k, f'{v:.4f}' if k == 'IL_MCC' else
            (f'{v:.2f}' if isinstance(v, float) else v)
        ] for k, v in metrics.items()]
        rows.append([
            'IL TP/FP/TN/FN', '/'.join(
                str(summary[f'IL_{k}']) for k in ('TP', 'FP', 'TN', 'FN'))
        ])
        log_table(self.TITLE, ['metric', 'value'], rows)
        return metrics
