# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SA-Co concept-segmentation scores: IL_MCC, pmF1 and cgF1.

Definitions follow the official SAM 3 evaluator
(``facebookresearch/sam3``, ``sam3/eval/cgf1_eval.py``, class
``CGF1Eval``), re-implemented here:

Per image-phrase pair (``D`` = predictions with score >= threshold,
``G`` = GT instances):

* image level: TP if ``G > 0`` and ``D > 0``; FP if ``G == 0`` and
  ``D > 0``; TN if both are 0; FN if ``G > 0`` and ``D == 0``;
* instance level: one-to-one matching maximising the total mask IoU
  (Hungarian on ``-IoU`` over all D x G pairs); for each IoU threshold
  ``t`` in 0.50:0.05:0.95, ``TP_t = #matched pairs with IoU >= t``,
  ``FP_t = D - TP_t``, ``FN_t = G - TP_t``.

Over the dataset:

* ``IL_MCC`` = Matthews correlation of the image-level counts;
* ``pmF1_t`` (positive micro F1) = micro F1 over the *positive* pairs
  (``G > 0``): ``P = sum TP / (sum TP + sum FP)``, ``R = sum TP /
  (sum TP + sum FN)``, both summed over positive pairs only (false
  positives on negative pairs do not enter pmF1, they lower IL_MCC);
* ``cgF1 = 100 * IL_MCC * mean_t pmF1_t`` (the official code multiplies
  per threshold and averages, which is the same number).

Differences from the official code: no 1e-4 / 1e-6 smoothing terms (0/0
is 0), so a perfect result gives exactly 100 instead of ~99.99; the
"oracle" evaluation over several GT sets is not implemented.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .mcc import mcc

COCO_IOU_THRS = np.linspace(0.5, 0.95, 10)


def cgf1_pair_counts(ious: np.ndarray,
                     iou_thrs: Sequence[float] = COCO_IOU_THRS) -> Dict:
    """Counts of one image-phrase pair.

    Args:
        ious (ndarray): ``[D, G]`` mask IoU between the kept predictions
            (score >= threshold) and the GT instances. ``D`` or ``G`` may
            be 0.
        iou_thrs (Sequence[float]): IoU thresholds.

    Returns:
        dict: ``il`` (one of ``'TP'``, ``'FP'``, ``'TN'``, ``'FN'``),
        ``num_dt``, ``num_gt`` and int arrays ``tp``, ``fp``, ``fn`` of
        length ``len(iou_thrs)``.
    """
    ious = np.asarray(ious, dtype=np.float64)
    if ious.ndim != 2:
        raise ValueError(f'ious must be [D, G], got shape {ious.shape}')
    num_dt, num_gt = ious.shape
    thrs = np.asarray(iou_thrs, dtype=np.float64)
    if num_gt > 0:
        il = 'TP' if num_dt > 0 else 'FN'
    else:
        il = 'FP' if num_dt > 0 else 'TN'
    if num_dt > 0 and num_gt > 0:
        rows, cols = linear_sum_assignment(-ious)
        matched = ious[rows, cols]
        tp = (matched[None, :] >= thrs[:, None]).sum(1)
    else:
        tp = np.zeros(len(thrs), dtype=np.int64)
    tp = tp.astype(np.int64)
    return dict(
        il=il,
        num_dt=num_dt,
        num_gt=num_gt,
        tp=tp,
        fp=num_dt - tp,
        fn=num_gt - tp)


def cgf1_summary(pairs: List[Dict],
                 iou_thrs: Optional[Sequence[float]] = None) -> Dict:
    """Aggregate :func:`cgf1_pair_counts` results over a dataset.

    Args:
        pairs (list[dict]): Per-pair counts.
        iou_thrs (Sequence[float], optional): The thresholds used, only to
            report ``pmF1``/``cgF1`` at 0.5 and 0.75. Defaults to
            0.50:0.05:0.95.

    Returns:
        dict: ``cgF1`` (x100), ``IL_MCC`` (in [-1, 1]), ``pmF1`` (x100,
        mean over thresholds), ``pmF1_per_thr`` (array in [0, 1]),
        ``cgF1@0.5``/``cgF1@0.75``/``pmF1@0.5``/``pmF1@0.75`` when those
        thresholds are used, image-level counts ``IL_TP``, ``IL_FP``,
        ``IL_TN``, ``IL_FN`` and ``positive_pairs``/``negative_pairs``.
    """
    thrs = np.asarray(
        COCO_IOU_THRS if iou_thrs is None else iou_thrs, dtype=np.float64)
    il = {k: 0 for k in ('TP', 'FP', 'TN', 'FN')}
    tp = np.zeros(len(thrs), dtype=np.int64)
    fp = np.zeros_like(tp)
    fn = np.zeros_like(tp)
    for pair in pairs:
        il[pair['il']] += 1
        if pair['num_gt'] > 0:  # positive pair: enters pmF1
            tp += np.asarray(pair['tp'], dtype=np.int64)
            fp += np.asarray(pair['fp'], dtype=np.int64)
            fn += np.asarray(pair['fn'], dtype=np.int64)
    denom = 2 * tp + fp + fn
    pmf1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    il_mcc = mcc(il['TP'], il['FP'], il['TN'], il['FN'])
    out = dict(
        cgF1=100.0 * il_mcc * float(pmf1.mean()) if len(thrs) else 0.0,
        IL_MCC=il_mcc,
        pmF1=100.0 * float(pmf1.mean()) if len(thrs) else 0.0,
        pmF1_per_thr=pmf1,
        positive_pairs=il['TP'] + il['FN'],
        negative_pairs=il['FP'] + il['TN'])
    for t in (0.5, 0.75):
        hit = np.flatnonzero(np.isclose(thrs, t))
        if hit.size:
            out[f'pmF1@{t}'] = 100.0 * float(pmf1[hit[0]])
            out[f'cgF1@{t}'] = 100.0 * il_mcc * float(pmf1[hit[0]])
    out.update({f'IL_{k}': v for k, v in il.items()})
    return out
