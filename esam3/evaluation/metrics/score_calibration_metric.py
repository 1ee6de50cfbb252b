# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""How a student's concept scores compare with the teacher's."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from esam3.registry import METRICS
from .utils import get_field


@METRICS.register_module()
class ScoreCalibrationMetric(BaseMetric):
    """Student vs teacher instance and presence scores on the same prompts.

    Reads, per sample (``Stage3Distiller(report_teacher_scores=True)``):
    ``score_pairs`` ``[M, 2]`` (student, teacher) final scores of matched
    instances, ``student_presence`` and ``teacher_presence``. Returns
    ``calib/instance_mad`` (mean absolute difference on matched instances),
    ``calib/instance_bias`` (mean student - teacher: negative = the student
    scores lower), ``calib/presence_mad``, ``calib/presence_bias``,
    ``calib/matched`` (matched instances; with none the instance values
    are NaN) and logs a reliability table:
    per teacher-score bin, the mean teacher and student scores.

    Args:
        num_bins (int): bins of the reliability table over [0, 1].
            Defaults to 5.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'calib'``.
    """
    default_prefix = 'calib'

    def __init__(self,
                 num_bins: int = 5,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_bins = int(num_bins)

    def process(self, data_batch, data_samples: Sequence) -> None:
        for ds in data_samples:
            pairs = np.asarray(get_field(ds, 'score_pairs'),
                               np.float64).reshape(-1, 2)
            self.results.append(
                (pairs, float(get_field(ds, 'student_presence')),
                 float(get_field(ds, 'teacher_presence'))))

    def reliability(self, pairs: np.ndarray) -> list:
        """``[(lo, hi, count, mean teacher, mean student)]`` per bin of the
        teacher score."""
        edges = np.linspace(0, 1, self.num_bins + 1)
        rows = []
        for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
            last = i == self.num_bins - 1
            sel = (pairs[:, 1] >= lo) & ((pairs[:, 1] <= hi) if last else
                                         (pairs[:, 1] < hi))
            n = int(sel.sum())
            rows.append(
                (lo, hi, n, float(pairs[sel, 1].mean()) if n else float('nan'),
                 float(pairs[sel, 0].mean()) if n else float('nan')))
        return rows

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not results:
            raise ValueError('ScoreCalibrationMetric: no predictions')
        pairs = np.concatenate([r[0] for r in results])
        s_pres = np.array([r[1] for r in results])
        t_pres = np.array([r[2] for r in results])
        diff = pairs[:, 0] - pairs[:, 1]
        nan = float('nan')  # no matched instance: nothing to compare
        out = dict(
            instance_mad=float(np.abs(diff).mean()) if len(diff) else nan,
            instance_bias=float(diff.mean()) if len(diff) else nan,
            presence_mad=float(np.abs(s_pres - t_pres).mean()),
            presence_bias=float((s_pres - t_pres).mean()),
            matched=float(len(pairs)))
        lines = ['teacher score | n | mean teacher | mean student']
        for lo, hi, n, t, s in self.reliability(pairs):
            lines.append(f'{lo:.1f}-{hi:.1f} | {n} | {t:.3f} | {s:.3f}')
        print_log(
            'student vs teacher scores on matched instances '
            f'(MAD {out["instance_mad"]:.3f}, bias '
            f'{out["instance_bias"]:+.3f}; presence MAD '
            f'{out["presence_mad"]:.3f}):\n' + '\n'.join(lines),
            logger='current')
        return out
