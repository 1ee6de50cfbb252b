# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Fidelity of the student to the teacher for identical prompts."""
from typing import Any, Optional, Sequence

import numpy as np

from esam3.registry import METRICS
from .base_prompt_iou_metric import BasePromptIoUMetric
from .utils import get_field


@METRICS.register_module()
class TeacherFidelityMetric(BasePromptIoUMetric):
    """Mean IoU between student and teacher masks for the same prompts.

    Reads ``prompt_masks`` (student) and ``teacher_prompt_masks`` (teacher),
    both mode -> bool ``[N, H_ori, W_ori]``. Modes without teacher masks are
    skipped. Returns ``{'fidelity/box': ..., 'fidelity/point': ...}`` in
    percent (mean over all instances) and logs a table.

    Args:
        modes (Sequence[str], optional): Modes to evaluate (None = all).
        pred_key (str): Field of the student masks. Defaults to
            ``'prompt_masks'``.
        teacher_key (str): Field of the teacher masks. Defaults to
            ``'teacher_prompt_masks'``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Prefix of the metric names.
    """
    metric_name = 'fidelity'
    table_title = 'student-teacher mask IoU (same prompts)'

    def __init__(self,
                 modes: Optional[Sequence[str]] = None,
                 pred_key: str = 'prompt_masks',
                 teacher_key: str = 'teacher_prompt_masks',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            modes=modes,
            pred_key=pred_key,
            collect_device=collect_device,
            prefix=prefix)
        self.teacher_key = teacher_key

    def reference_masks(self, sample: Any, mode: str,
                        shape: Sequence[int]) -> Optional[np.ndarray]:
        """Teacher masks of ``mode`` or None if the teacher has none."""
        teacher = get_field(sample, self.teacher_key, None) or {}
        return teacher.get(mode)
