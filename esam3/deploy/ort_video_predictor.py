# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""``VideoPredictor`` running the exported ONNX graphs on onnxruntime."""
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from esam3.apis.video_predictor import VideoPredictor
from esam3.models.trackers.sam3_video_tracker_student import hide_absent
from .onnx_export import manifest_resize_mode
from .ort_graphs import OrtParts
from .tracker_step_onnx import STATE_NAMES, TrackerStateSpec


class OrtVideoPredictor(VideoPredictor):
    """Video object segmentation on onnxruntime.

    Same interface and code path as :class:`~esam3.apis.VideoPredictor`
    with a student tracker (``init_state`` -> ``add_prompt`` ->
    ``propagate``, ``remove_object``, ``reset_state``): frames, prompts
    and masks go through the same pre/post-processing, every object gets
    its own track conditioned on its prompts first, and only the networks
    run on onnxruntime: ``encoder.onnx`` once per frame (shared by all
    objects), then per object ``tracker_prompt.onnx`` (a prompted frame)
    or ``tracker_step.onnx`` (a tracked frame), which carry the object's
    fixed-size memory state from one frame to the next
    (:class:`~esam3.deploy.TrackerStepOnnx`).

    Mask prompts are not exported (points and boxes are).

    Args:
        onnx_dir: export folder with the ``encoder`` and ``tracker_step``
            parts.
        providers: onnxruntime execution providers (default CPU).
        num_threads: onnxruntime intra-op threads.

    Raises:
        ValueError: the export has no ``tracker_step`` part.
    """

    def __init__(self,
                 onnx_dir: str,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None) -> None:
        self.parts = OrtParts(onnx_dir, providers, num_threads)
        info = self.parts.info
        if not self.parts.has('tracker_step'):
            self.parts.graph('tracker_step')  # raises, naming the part
        self.onnx_dir = onnx_dir
        state = dict(info['tracker_state'])
        self._multimask = state.pop('prompt_multimask')
        self.spec = TrackerStateSpec(**state)
        self.resize_mode = manifest_resize_mode(info)
        self.is_teacher = False
        self.model = None
        self.encode_trunk = None
        self.img_size = int(info['img_size'])
        self.mean, self.std = list(info['mean']), list(info['std'])
        self.device = torch.device('cpu')
        self.frames = None
        self._meta: Dict = {}
        self._prompts = OrderedDict()
        self._lazy_frames = None

    @classmethod
    def from_config(cls, *args, **kwargs):
        """Not available: export first, then ``OrtVideoPredictor(dir)``."""
        raise NotImplementedError(
            'OrtVideoPredictor runs exported graphs: run '
            'tools/deployment/export_onnx.py CONFIG CKPT --out DIR, then '
            'OrtVideoPredictor(DIR)')

    def _encode_frame(self, pixels: Tensor) -> Dict[str, np.ndarray]:
        feats = self.parts.encode(pixels)
        return dict(
            zip(('vid_s0', 'vid_s1', 'vid'),
                self.parts.branch(feats, 'video', 'tracker_step')))

    def _new_track(self) -> dict:
        return dict(state=self.spec.empty_state(1), prompted=False)

    def _use_multimask(self, num_points: int) -> bool:
        """Transformers' rule for a prompted frame (``_use_multimask``)."""
        m = self._multimask
        return bool(m['enabled']
                    and m['min_points'] <= num_points <= m['max_points'])

    def _student_step(self, track: dict, feats: Dict[str, np.ndarray],
                      frame_idx: int, prompt: Optional[dict]) -> Tensor:
        """One object, one frame on onnxruntime: ``[1, h, w]`` logits."""
        feeds = dict(
            feats,
            frame_idx=np.array([frame_idx], np.float32),
            **track['state'])
        if prompt is not None:
            if 'mask' in prompt:
                raise NotImplementedError(
                    'mask prompts are not part of the exported tracker '
                    'graphs: prompt with points or a box, or use '
                    'esam3.apis.VideoPredictor')
            pts, lbl = self._as_sam_points(prompt)
            feeds.update(
                points=pts[None].cpu().numpy().astype(np.float32),
                labels=lbl[None].cpu().numpy().astype(np.int64),
                multimask=np.array([float(self._use_multimask(len(lbl)))],
                                   np.float32))
            out = self.parts.graph('tracker_step', 'tracker_prompt')(**feeds)
            track['prompted'] = True
        else:
            if not track['prompted']:
                raise ValueError('the first tracked frame needs a prompt')
            out = self.parts.graph('tracker_step', 'tracker_step')(**feeds)
        track['state'] = {n: out['new_' + n] for n in STATE_NAMES}
        return hide_absent(
            torch.from_numpy(out['masks']),
            torch.from_numpy(out['object_score_logits']))
