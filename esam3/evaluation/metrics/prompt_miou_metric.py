# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""MIoU of promptable segmentation (GT box / point / point+k prompts)."""
from typing import Any, Optional, Sequence

import numpy as np

from esam3.registry import METRICS
from .base_prompt_iou_metric import BasePromptIoUMetric
from .utils import decode_rles, get_field


@METRICS.register_module()
class PromptMIoUMetric(BasePromptIoUMetric):
    """Prompt mIoU: IoU of each instance's predicted mask with its GT mask.

    Reads ``prompt_masks`` (mode -> bool ``[N, H_ori, W_ori]``, one mask
    per GT instance, same order) and the GT from metainfo ``gt_rles`` (COCO
    RLEs at original resolution). The IoU of every instance is computed at
    original resolution; the metric per mode is the mean over all instances
    of the dataset, in percent (EdgeSAM / EfficientSAM3 protocol). Returns
    ``{'mIoU/box': ..., 'mIoU/point': ..., 'mIoU/point+k': ...}`` and logs a
    table (rows = modes, columns = mIoU, #instances).

    Args:
        modes (Sequence[str], optional): Modes to evaluate (None = all).
        pred_key (str): Field of the predictions. Defaults to
            ``'prompt_masks'``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Prefix of the metric names.
    """
    metric_name = 'mIoU'
    table_title = 'prompt mIoU (vs GT)'

    def reference_masks(self, sample: Any, mode: str,
                        shape: Sequence[int]) -> Optional[np.ndarray]:
        """GT masks decoded from ``gt_rles`` (shared by all modes)."""
        rles = get_field(sample, 'gt_rles')
        return decode_rles(rles, shape)
