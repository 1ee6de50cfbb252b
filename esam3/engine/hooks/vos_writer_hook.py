# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Write VOS predictions as DAVIS-style palette PNGs."""
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.hooks import Hook
from PIL import Image

from esam3.registry import HOOKS


def davis_palette(num_colors: int = 256) -> List[int]:
    """The PASCAL VOC / DAVIS colour map (index -> RGB), flattened.

    Colour ``i`` spreads the bits of ``i`` over the three channels, from
    the most significant bit of each channel down (index 0 is black, 1 dark
    red, 2 dark green, ...), as in the DAVIS annotation PNGs.
    """
    palette = []
    for i in range(num_colors):
        r = g = b = 0
        c = i
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    return palette


def index_map(masks: np.ndarray, obj_ids: Sequence[int]) -> np.ndarray:
    """Bool masks ``[N, H, W]`` -> uint8 index map (later objects drawn on top
    where masks overlap; 0 = background)."""
    out = np.zeros(masks.shape[1:], np.uint8)
    for m, oid in zip(masks, obj_ids):
        out[m] = oid
    return out


@HOOKS.register_module()
class VOSPaletteWriterHook(Hook):
    """Save ``pred_track_masks`` of test (optionally val) videos as
    ``<out_dir>/<video_id>/<frame>.png`` palette PNGs, the layout the DAVIS /
    SA-V evaluation toolkits read.

    Pixel value = object id (the dataset's ``instances_ids`` when they fit
    in 1..255, else 1..N in order). The frame name is the stem of the
    frame's ``img_path`` for frame folders, else ``%05d`` of its
    ``frame_id``.

    The arguments mirror :class:`Sam3VisualizationHook`, so ``tools/test.py
    --show-dir DIR`` (which sets ``draw=True`` and ``test_out_dir=DIR`` on
    ``default_hooks.visualization``) switches this hook on when a config
    uses it as its visualisation hook.

    Args:
        draw: master switch.
        test_out_dir: folder (relative to ``work_dir/<timestamp>`` unless
            absolute). Defaults to ``'vos_results'``.
        write_val: also write during validation (into
            ``<work_dir>/vos_val/iter_<n>``).
        interval, score_thr, show, wait_time: accepted for compatibility
            with the visualisation hook options, unused.
    """

    priority = 'NORMAL'

    def __init__(self,
                 draw: bool = False,
                 test_out_dir: Optional[str] = None,
                 write_val: bool = False,
                 interval: int = 1,
                 score_thr: float = 0.,
                 show: bool = False,
                 wait_time: float = 0.) -> None:
        self.draw = draw
        self.test_out_dir = test_out_dir or 'vos_results'
        self.write_val = write_val
        self.palette = davis_palette()

    @staticmethod
    def _frame_names(sample, num_frames: int) -> List[str]:
        frames = list(getattr(sample, 'video_data_samples', []) or [])
        names = []
        for t in range(num_frames):
            meta = frames[t].metainfo if t < len(frames) else {}
            path = meta.get('img_path')
            video_exts = ('.mp4', '.avi', '.mov', '.mkv', '.webm')
            if path and not str(path).lower().endswith(video_exts):
                names.append(osp.splitext(osp.basename(str(path)))[0])
            else:
                names.append(f'{int(meta.get("frame_id", t)):05d}')
        return names

    @staticmethod
    def _object_ids(sample, num_objects: int) -> List[int]:
        frames = list(getattr(sample, 'video_data_samples', []) or [])
        if frames and 'instances_ids' in frames[0].gt_instances:
            ids = [int(i) for i in frames[0].gt_instances.instances_ids]
            if len(ids) == num_objects and all(0 < i < 256 for i in ids):
                return ids
        return list(range(1, num_objects + 1))

    def write_sample(self, sample, out_dir: str) -> List[str]:
        """Write one video; returns the written file paths."""
        pred = sample.pred_track_masks
        pred = pred.cpu().numpy() if hasattr(pred, 'cpu') else \
            np.asarray(pred)
        pred = pred.astype(bool)
        video_id = str(sample.metainfo.get('video_id', 'video'))
        names = self._frame_names(sample, pred.shape[0])
        ids = self._object_ids(sample, pred.shape[1])
        folder = osp.join(out_dir, video_id)
        os.makedirs(folder, exist_ok=True)
        written = []
        for masks, name in zip(pred, names):
            img = Image.fromarray(index_map(masks, ids), mode='P')
            img.putpalette(self.palette)
            path = osp.join(folder, f'{name}.png')
            img.save(path)
            written.append(path)
        return written

    def _write(self, outputs, out_dir: str) -> None:
        for sample in outputs or []:
            if hasattr(sample, 'pred_track_masks'):
                self.write_sample(sample, out_dir)

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch=None,
                        outputs=None) -> None:
        """Write every test video."""
        if not self.draw:
            return
        out_dir = self.test_out_dir if osp.isabs(self.test_out_dir) else \
            osp.join(runner.work_dir, runner.timestamp, self.test_out_dir)
        self._write(outputs, out_dir)

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch=None,
                       outputs=None) -> None:
        """Write validation videos when ``write_val`` is set."""
        if not self.write_val:
            return
        self._write(
            outputs, osp.join(runner.work_dir, 'vos_val',
                              f'iter_{runner.iter}'))
