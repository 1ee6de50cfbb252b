# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Semi-supervised video object segmentation J&F (DAVIS / SA-V)."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from esam3.evaluation.functional import (db_eval_boundary, db_eval_iou,
                                         to_bool_array)
from esam3.registry import METRICS
from .utils import get_field, log_table

# frames dropped at the (start, end) of every video
CONVENTIONS = {
    # what the davis2017-evaluation toolkit does in semi-supervised mode
    # (``all_gt_masks[:, 1:-1]``): the first frame is the prompt, the last
    # is dropped too
    'davis': (1, 1),
    'davis2017': (1, 1),  # alias of 'davis'
    'sav': (1, 1),  # SA-V val/test: first and last annotated frame
    'skip_first': (1, 0),  # only the prompt frame is dropped
    'all': (0, 0),
}


@METRICS.register_module()
class VOSMetric(BaseMetric):
    """Region similarity J, contour accuracy F and J&F for VOS.

    Reads ``pred_track_masks`` and ``gt_track_masks`` (``[T, N, H, W]``,
    same N objects in the same order) and ``video_id``. For every object
    and every evaluated frame: J = mask IoU, F = DAVIS boundary F-measure
    (tolerance ``ceil(bound_th * image diagonal)``); frames where the GT
    object is empty follow DAVIS (J = 1 and F = 1 if the prediction is
    empty too, else 0). Per object: mean over evaluated frames. Reported
    (in percent, DAVIS style): J and F = mean over all objects of all
    videos, ``J&F = (J + F) / 2``; a per-video table (mean over that
    video's objects) is logged.

    Frame conventions (``convention``):

    * ``'davis'`` (default, alias ``'davis2017'``): skip the first and the
      last frame, as the public ``davis2017-evaluation`` toolkit does in
      semi-supervised mode;
    * ``'sav'``: the same frames (SA-V val/test protocol);
    * ``'skip_first'``: skip only the first frame (given as the prompt);
    * ``'all'``: evaluate every frame.

    Objects with no evaluated frame (too short video) are skipped.

    Args:
        convention (str): Frame convention. Defaults to ``'davis'`` (the
            DAVIS toolkit's frames: first and last dropped).
        bound_th (float): Boundary tolerance (fraction of the diagonal, or
            pixels if >= 1). Defaults to 0.008.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Prefix of the metric names.
    """
    default_prefix: Optional[str] = None

    def __init__(self,
                 convention: str = 'davis',
                 bound_th: float = 0.008,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if convention not in CONVENTIONS:
            raise ValueError(f'convention must be one of '
                             f'{sorted(CONVENTIONS)}, got {convention!r}')
        self.convention = convention
        self.bound_th = float(bound_th)

    def frame_indices(self, num_frames: int) -> List[int]:
        """Indices of the evaluated frames of a ``num_frames`` video."""
        head, tail = CONVENTIONS[self.convention]
        return list(range(head, num_frames - tail))

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Per-object mean J and F of each video (numbers only)."""
        for sample in data_samples:
            pred = to_bool_array(get_field(sample, 'pred_track_masks'))
            gt = to_bool_array(get_field(sample, 'gt_track_masks'))
            if pred.shape != gt.shape or pred.ndim != 4:
                raise ValueError('VOSMetric: pred_track_masks and '
                                 'gt_track_masks must both be [T, N, H, W], '
                                 f'got {pred.shape} and {gt.shape}')
            video_id = get_field(sample, 'video_id', len(self.results))
            frames = self.frame_indices(pred.shape[0])
            j_obj, f_obj = [], []
            if not frames:
                print_log(
                    f'VOSMetric: video {video_id} has {pred.shape[0]} '
                    f'frames, none left with convention '
                    f'{self.convention!r}; skipped',
                    logger='current')
            else:
                for n in range(pred.shape[1]):
                    j = [db_eval_iou(gt[t, n], pred[t, n]) for t in frames]
                    f = [
                        db_eval_boundary(gt[t, n], pred[t, n], self.bound_th)
                        for t in frames
                    ]
                    j_obj.append(float(np.mean(j)))
                    f_obj.append(float(np.mean(f)))
            self.results.append(dict(video_id=str(video_id), J=j_obj, F=f_obj))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """J, F and J&F (percent), mean over all objects of all videos."""
        rows, all_j, all_f = [], [], []
        for res in results:
            all_j.extend(res['J'])
            all_f.extend(res['F'])
            if res['J']:
                j, f = 100 * np.mean(res['J']), 100 * np.mean(res['F'])
                rows.append([
                    res['video_id'],
                    len(res['J']), f'{j:.2f}', f'{f:.2f}', f'{(j + f) / 2:.2f}'
                ])
        j = 100.0 * float(np.mean(all_j)) if all_j else 0.0
        f = 100.0 * float(np.mean(all_f)) if all_f else 0.0
        rows.append([
            'all (mean over objects)',
            len(all_j), f'{j:.2f}', f'{f:.2f}', f'{(j + f) / 2:.2f}'
        ])
        log_table(f'VOS ({self.convention} convention)',
                  ['video', '#objects', 'J', 'F', 'J&F'], rows)
        return {'J&F': (j + f) / 2, 'J': j, 'F': f}
