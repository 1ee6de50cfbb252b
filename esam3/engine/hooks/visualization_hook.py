# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Draw validation / test predictions with :class:`Sam3Visualizer`."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer

from esam3.registry import HOOKS


def _sample_image(sample, inputs, index: int) -> Optional[np.ndarray]:
    """RGB uint8 image of one sample: the original file when its metainfo
    names one (predictions live at original resolution), else the packed
    input tensor (BGR ``[3, H, W]`` per the esam3 contract)."""
    path = sample.metainfo.get('img_path') if hasattr(sample, 'metainfo') \
        else None
    if path and osp.isfile(path):
        import mmcv
        return mmcv.imread(path, channel_order='rgb')
    if isinstance(inputs, (list, tuple)) and index < len(inputs):
        img = inputs[index]
    elif isinstance(inputs, torch.Tensor) and index < len(inputs):
        img = inputs[index]
    else:
        return None
    if not isinstance(img, torch.Tensor) or img.dim() != 3 or \
            img.shape[0] != 3:
        return None
    return img.detach().cpu().permute(1, 2,
                                      0).numpy()[..., ::-1].astype(np.uint8)


@HOOKS.register_module()
class Sam3VisualizationHook(Hook):
    """Visualise predictions during validation and testing.

    Args:
        draw: master switch (``tools/test.py --show-dir`` turns it on).
        interval: draw every ``interval``-th validation batch.
        score_thr: score threshold for predicted instances.
        show: open a window per image.
        wait_time: seconds per shown image.
        test_out_dir: folder (relative to ``work_dir/<timestamp>`` unless
            absolute) for the test drawings.
    """

    priority = 'NORMAL'

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 score_thr: float = 0.3,
                 show: bool = False,
                 wait_time: float = 0.,
                 test_out_dir: Optional[str] = None) -> None:
        self.draw = draw
        self.interval = interval
        self.score_thr = score_thr
        self.show = show
        self.wait_time = wait_time
        self.test_out_dir = test_out_dir
        self._test_index = 0

    def _draw(self, runner, data_batch: dict, outputs: Sequence,
              out_dir: Optional[str], step: int) -> None:
        visualizer = Visualizer.get_current_instance()
        if not hasattr(visualizer, 'draw_instances'):
            return  # not an esam3 visualizer: nothing sensible to draw
        inputs = data_batch.get('inputs') if isinstance(data_batch, dict) \
            else None
        for i, sample in enumerate(outputs):
            image = _sample_image(sample, inputs, i)
            if image is None:
                continue
            path = sample.metainfo.get('img_path') or f'{self._test_index}'
            name = osp.splitext(osp.basename(str(path)))[0]
            out_file = None
            if out_dir is not None:
                out_file = osp.join(out_dir, f'{self._test_index:06d}_'
                                    f'{name}.jpg')
            self._test_index += 1
            visualizer.add_datasample(
                name,
                image,
                data_sample=sample,
                show=self.show,
                wait_time=self.wait_time,
                out_file=out_file,
                pred_score_thr=self.score_thr,
                step=step)

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch=None,
                       outputs=None) -> None:
        """Send every ``interval``-th batch to the visualisation backends."""
        if not self.draw or outputs is None or batch_idx % self.interval:
            return
        self._draw(runner, data_batch, outputs, None, runner.iter)

    def before_test(self, runner) -> None:
        """Reset the image counter."""
        self._test_index = 0

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch=None,
                        outputs=None) -> None:
        """Write every test prediction to ``test_out_dir``."""
        if not self.draw or outputs is None:
            return
        out_dir = None
        if self.test_out_dir is not None:
            out_dir = self.test_out_dir if osp.isabs(self.test_out_dir) \
                else osp.join(runner.work_dir, runner.timestamp,
                              self.test_out_dir)
        self._draw(runner, data_batch, outputs, out_dir, batch_idx)
