# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Cosine similarity of a text student's features to the teacher's."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from esam3.registry import METRICS
from .utils import get_field


@METRICS.register_module()
class TextFidelityMetric(BaseMetric):
    """Mean cosine similarity between the text student's and SAM3's projected
    text features on held-out phrases (what the concept heads read).

    Reads ``token_cos`` (mean over the phrase's real tokens) and
    ``pooled_cos`` (cosine of the token-mean features) of each prediction
    (:class:`~esam3.models.TextDistiller`). Returns ``text/token_cos``,
    ``text/pooled_cos``, ``text/min_pooled_cos`` and ``text/frac_ge_thr``
    (share of phrases whose pooled cosine reaches ``threshold``).

    Args:
        threshold (float): cosine target. Defaults to 0.95.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): metric name prefix. Defaults to ``'text'``.
    """
    default_prefix = 'text'

    def __init__(self,
                 threshold: float = 0.95,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.threshold = float(threshold)

    def process(self, data_batch, data_samples: Sequence) -> None:
        for ds in data_samples:
            self.results.append((float(get_field(ds, 'token_cos')),
                                 float(get_field(ds, 'pooled_cos'))))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not results:
            raise ValueError('TextFidelityMetric: no predictions')
        tok, pooled = (np.asarray(x) for x in zip(*results))
        out = dict(
            token_cos=float(tok.mean()),
            pooled_cos=float(pooled.mean()),
            min_pooled_cos=float(pooled.min()),
            frac_ge_thr=float((pooled >= self.threshold).mean()))
        print_log(
            f'text student vs teacher on {len(results)} phrases: '
            f'token cos {out["token_cos"]:.4f}, pooled cos '
            f'{out["pooled_cos"]:.4f} (min {out["min_pooled_cos"]:.4f}, '
            f'{100 * out["frac_ge_thr"]:.1f}% >= {self.threshold})',
            logger='current')
        return out
