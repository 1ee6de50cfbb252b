# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SAM3 itself (transformers' detector, tracker and video tracker) as a
trainable model, for fine-tuning on ground truth (custom data, the proxy
teacher of the quick start) and writing the result back as a SAM3 folder."""
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from esam3.registry import MODELS
from .heads.sam3_heads import Sam3Heads, build_sam3_models
from .sam3_promptable import Sam3Promptable
from .teachers.sam3_video_teacher import (Sam3VideoTeacher,
                                          build_sam3_video_tracker)

__all__ = ['Sam3Trainable']

#: ``video`` argument: False, True (from ``pretrained``) or a build dict
VideoSpec = Union[bool, dict]


def _freeze_prefixes(module: torch.nn.Module, prefixes: Sequence[str],
                     where: str) -> None:
    """``requires_grad=False`` for parameters under each prefix.

    Raises:
        KeyError: for a prefix that names no parameter (a typo would
            otherwise silently train everything).
    """
    names = [n for n, _ in module.named_parameters()]
    for prefix in prefixes:
        hit = [
            p for n, p in module.named_parameters()
            if n == prefix or n.startswith(prefix + '.')
        ]
        if not hit:
            raise KeyError(f'{where}: frozen prefix {prefix!r} names no '
                           f'parameter (e.g. {names[:4]})')
        for p in hit:
            p.requires_grad_(False)


@MODELS.register_module()
class Sam3Trainable(Sam3Promptable):
    """SAM3 with every part trainable: one ViT trunk shared by the detector
    (concept prompts), the tracker (geometric prompts) and, optionally, the
    video tracker (``Sam3TrackerVideoModel``), as in SAM3 itself.

    Same interface as the teacher and the esam3 students
    (:class:`~esam3.models.sam3_promptable.Sam3Promptable`:
    ``encode_trunk``, ``predict_prompts``, ``predict_concepts``), so the
    Stage 3 concept losses run on it unchanged; :meth:`track_clip` tracks a
    clip with transformers' own video session with gradients.

    Args:
        pretrained: a SAM3 folder (``detector/`` + ``tracker/`` [+
            ``tracker_video/``], as :meth:`save_pretrained` and
            ``tools/misc/make_random_sam3.py`` write it) or hub id in the
            local cache.
        config: ``Sam3Config`` kwargs (random weights), as the teacher's.
        video: also build the video tracker: ``True`` (from ``pretrained``)
            or a ``dict(config=...)`` of ``Sam3TrackerVideoConfig`` kwargs.
            Its ViT trunk is replaced by the detector's (shared weights):
            the two trunk configs must agree.
        frozen: parameter-name prefixes (relative to this module: ``trunk``,
            ``heads.detector.text_encoder``, ``video.memory_attention``, ...)
            to freeze.
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 config: Optional[dict] = None,
                 video: VideoSpec = False,
                 frozen: Sequence[str] = ()) -> None:
        super().__init__()
        detector, tracker = build_sam3_models(pretrained, config)
        self.trunk = detector.vision_encoder.backbone
        self.heads = Sam3Heads(detector, tracker)
        self.video = None
        if video:
            vcfg = dict(video) if isinstance(video, dict) else {}
            if not vcfg:
                vcfg = dict(pretrained=pretrained)
            self.video = build_sam3_video_tracker(**vcfg)
            own = self.video.vision_encoder.backbone
            if own.config.hidden_size != self.trunk.config.hidden_size or \
                    own.config.num_hidden_layers != \
                    self.trunk.config.num_hidden_layers:
                raise ValueError(
                    'Sam3Trainable: the video tracker trunk (hidden '
                    f'{own.config.hidden_size}, '
                    f'{own.config.num_hidden_layers} layers) differs from '
                    f'the detector trunk (hidden '
                    f'{self.trunk.config.hidden_size}, '
                    f'{self.trunk.config.num_hidden_layers} layers)')
            self.video.vision_encoder.backbone = self.trunk
            # transformers returns object scores only in eval mode; the
            # tracker has no dropout / batch norm, so eval changes nothing
            # else (see :meth:`train`)
        self.frozen = tuple(frozen)
        _freeze_prefixes(self, self.frozen, type(self).__name__)

    def train(self, mode: bool = True) -> 'Sam3Trainable':
        super().train(mode)
        if self.video is not None:
            self.video.eval()
        return self

    def encode_trunk(self, pixel_values: Tensor) -> Tensor:
        """Normalised images ``[B, 3, S, S]`` -> trunk map ``[B, C, S/14,
        S/14]`` (with gradients)."""
        b, _, h, w = pixel_values.shape
        p = self.heads.patch_size
        if h % p or w % p:
            raise ValueError(f'SAM3 input {h}x{w} is not a multiple of the '
                             f'patch size {p}')
        tokens = self.trunk(pixel_values).last_hidden_state
        return tokens.transpose(1, 2).reshape(b, -1, h // p, w // p)

    # ---------------------------------------------------------------- video
    def track_clip(self, frames: Tensor,
                   first_frame_masks: Tensor) -> Dict[str, Tensor]:
        """Track the objects given by their frame-0 masks through a clip with
        transformers' streaming session, keeping gradients.

        ``Sam3TrackerVideoModel.forward`` runs under
        ``torch.inference_mode``; its undecorated body (``__wrapped__``) is
        called instead, so the loss reaches the trunk, memory attention,
        memory encoder and decoder through time.

        Args:
            frames: normalised ``[T, 3, S, S]``.
            first_frame_masks: bool ``[N, S, S]``.

        Returns:
            ``mask_logits [T, N, 4h, 4w]`` and ``object_score_logits [T,
            N]``.
        """
        if self.video is None:
            raise RuntimeError('Sam3Trainable.track_clip: built without a '
                               'video tracker (video=None)')
        session = Sam3VideoTeacher.start_session(
            _SessionHelper(self.video),
            first_frame_masks,
            device=frames.device)
        forward = type(self.video).forward.__wrapped__
        masks, scores = [], []
        for frame in frames:
            out = forward(self.video, session, frame=frame)
            masks.append(out.pred_masks[:, 0])
            scores.append(out.object_score_logits.reshape(-1))
        return dict(
            mask_logits=torch.stack(masks),
            object_score_logits=torch.stack(scores))

    # ----------------------------------------------------------------- save
    def save_pretrained(self, out: str) -> Tuple[str, ...]:
        """Write ``out/detector``, ``out/tracker`` (and ``out/tracker_video``)
        in transformers' ``save_pretrained`` layout, each with the trained
        trunk, so the folder serves as ``pretrained=`` of any esam3 config
        (teacher, student heads, video teacher).

        Returns:
            The written sub-folders.
        """
        det, trk = self.heads.detector, self.heads.tracker
        written = []
        try:
            det.vision_encoder.backbone = self.trunk
            trk.vision_encoder.backbone = self.trunk
            for name, model in (('detector', det), ('tracker', trk),
                                ('tracker_video', self.video)):
                if model is None:
                    continue
                path = osp.join(out, name)
                os.makedirs(path, exist_ok=True)
                model.save_pretrained(path)
                written.append(path)
        finally:
            det.vision_encoder.backbone = None
            trk.vision_encoder.backbone = None
        return tuple(written)


class _SessionHelper:
    """The attributes :meth:`Sam3VideoTeacher.start_session` reads, so the
    teacher's session set-up (prompt registration) is reused, not copied."""

    def __init__(self, tracker) -> None:
        self.tracker = tracker
        self.image_size = int(tracker.config.image_size)

    def _new_session(self, *args, **kwargs):
        return Sam3VideoTeacher._new_session(self, *args, **kwargs)

    def _add_prompts(self, *args, **kwargs):
        return Sam3VideoTeacher._add_prompts(self, *args, **kwargs)
