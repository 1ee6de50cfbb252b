# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Shared logic of the per-prompt-mode mask IoU metrics."""
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from esam3.evaluation.functional import mask_iou, to_bool_array
from .utils import get_field, log_table, sort_modes


class BasePromptIoUMetric(BaseMetric):
    """Mean IoU per prompt mode between predicted and reference masks.

    Subclasses define where the reference masks come from
    (:meth:`reference_masks`). Each output sample carries a dict
    ``pred_key`` of mode -> bool ``[N, H_ori, W_ori]``; one IoU per
    instance is computed at original resolution (both empty -> 1) and only
    the numbers are kept in ``self.results``. Results are reported in
    percent, averaged over all instances of the dataset per mode.

    Args:
        modes (Sequence[str], optional): Modes to evaluate; None = all
            modes found in the predictions.
        pred_key (str): Field holding the predicted masks. Defaults to
            ``'prompt_masks'``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Prefix of the metric names.
    """
    metric_name: str = 'IoU'
    table_title: str = 'mask IoU per prompt mode'
    default_prefix: Optional[str] = None

    def __init__(self,
                 modes: Optional[Sequence[str]] = None,
                 pred_key: str = 'prompt_masks',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.modes = list(modes) if modes is not None else None
        self.pred_key = pred_key

    def reference_masks(self, sample: Any, mode: str,
                        shape: Sequence[int]) -> Optional[np.ndarray]:
        """Reference masks ``[N, H, W]`` of ``sample`` for ``mode`` (None = not
        available, the mode is skipped for this sample)."""
        raise NotImplementedError

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Compute per-instance IoUs of a batch (numbers only are kept)."""
        for sample in data_samples:
            preds = get_field(sample, self.pred_key, None)
            if not preds:
                continue
            ious: Dict[str, List[float]] = {}
            for mode, masks in preds.items():
                if self.modes is not None and mode not in self.modes:
                    continue
                pred = to_bool_array(masks)
                if pred.ndim != 3:
                    raise ValueError(f'{self.pred_key}[{mode!r}] must be '
                                     f'[N, H, W], got {pred.shape}')
                ref = self.reference_masks(sample, mode, pred.shape[1:])
                if ref is None:
                    continue
                ref = to_bool_array(ref)
                if ref.shape != pred.shape:
                    raise ValueError(
                        f'{type(self).__name__}: mode {mode!r}: predicted '
                        f'masks {pred.shape} and reference masks '
                        f'{ref.shape} differ (same instances at original '
                        'resolution expected)')
                ious[mode] = np.atleast_1d(mask_iou(pred, ref)).tolist()
            self.results.append(dict(ious=ious))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Mean IoU (in percent) per mode over all instances."""
        per_mode: Dict[str, List[float]] = defaultdict(list)
        for res in results:
            for mode, values in res['ious'].items():
                per_mode[mode].extend(values)
        metrics, rows = {}, []
        for mode in sort_modes(per_mode):
            values = per_mode[mode]
            value = 100.0 * float(np.mean(values)) if values else 0.0
            metrics[f'{self.metric_name}/{mode}'] = value
            rows.append([mode, f'{value:.2f}', len(values)])
        log_table(self.table_title, ['mode', self.metric_name, '#instances'],
                  rows)
        return metrics
