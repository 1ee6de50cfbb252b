# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Promptable video object segmentation with the Stage 2 student tracker (or
the SAM3 video tracker teacher, for comparison)."""
from collections import OrderedDict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from esam3.models.distillers.outputs import paste_masks_to_original
from esam3.models.trackers.sam3_video_tracker_student import hide_absent
from esam3.models.utils import prompts as P
from .image_inputs import check_finite
from .model_loading import build_inference_model
from .video_inputs import LazyFrameDict, VideoFrames

PropagateItem = Tuple[int, List[int], np.ndarray]


class VideoPredictor:
    """SAM2-style video API: ``init_state`` -> ``add_prompt`` (any frame,
    any object) -> ``propagate``.

    Two back-ends answer the same calls:

    * the esam3 student tracker (``Sam3VideoTrackerStudent``, Stage 2):
      every object is tracked with its own memory bank (the student's
      ``init_state`` / ``step`` API with one object per call); the frame
      encoder runs once per frame and is shared by all objects;
    * the SAM3 video tracker teacher (``Sam3VideoTeacher``, transformers'
      ``Sam3TrackerVideoModel`` with its dense memory), through
      transformers' own inference session.

    Prompts are stored per ``(frame, object)``; a new prompt on the same
    frame and object replaces the old one. ``propagate`` (re)computes the
    tracks from all stored prompts: every object first conditions its
    memory on its prompted frames (as SAM2 does), then the frames are
    visited in order from ``start_frame``. Frames go through
    :func:`esam3.models.data_preprocessors.preprocess_image` and masks back
    through :func:`~esam3.models.distillers.outputs.paste_masks_to_original`,
    like :class:`~esam3.apis.ImagePredictor`. Coordinates are (x, y)
    pixels of the original frames.

    Args:
        model: a ``Sam3VideoTrackerStudent`` or a ``Sam3VideoTeacher``.
        img_size: model input size (default: the model's).
        mean, std: normalisation (RGB), as in the config's preprocessor.
        device: inference device.
        resize_mode: ``'square'`` (SAM3's processor, default) or
            ``'letterbox'``, as the config's data preprocessor says.
    """

    def __init__(self,
                 model: nn.Module,
                 img_size: Optional[int] = None,
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5),
                 device: Union[str, torch.device] = 'cpu',
                 resize_mode: str = 'square') -> None:
        from esam3.models.data_preprocessors import check_resize_mode
        self.resize_mode = check_resize_mode(resize_mode)
        self.is_teacher = hasattr(model, 'tracker') and \
            hasattr(model.tracker, 'propagate_in_video_iterator')
        # a Stage 3 student: its tracker runs on the shared encoder
        video = getattr(model, 'video', None)
        tracker = video if video is not None else model
        if not self.is_teacher and not (hasattr(tracker, 'step')
                                        and hasattr(tracker, 'init_state')):
            raise TypeError(
                f'{type(model).__name__} is not a video tracker: the '
                'VideoPredictor needs a Stage 2 Sam3VideoTrackerStudent '
                '(init_state / step), a Stage 3 EfficientSAM3 with a video '
                'tracker, or a Sam3VideoTeacher')
        model = model.to(device).eval()
        self.model = tracker
        self.encode_trunk = model.encode_trunk if not self.is_teacher \
            else None
        self.img_size = int(img_size or tracker.image_size)
        self.mean, self.std = list(mean), list(std)
        self.device = torch.device(device)
        self.frames: Optional[VideoFrames] = None
        self._meta: Dict = {}
        self._prompts: 'OrderedDict[int, Dict[int, dict]]' = OrderedDict()
        self._lazy_frames: Optional[LazyFrameDict] = None

    @classmethod
    def from_config(cls,
                    config,
                    checkpoint: Optional[str] = None,
                    use_teacher: bool = False,
                    device: str = 'cpu') -> 'VideoPredictor':
        """Build from a Stage 2 or Stage 3 config and a student checkpoint
        (loaded strictly; ``student.``-prefixed distiller checkpoints work), or
        the config's SAM3 video teacher (``use_teacher=True``)."""
        model, cfg = build_inference_model(config, checkpoint, use_teacher,
                                           device)
        pre = cfg.model.get('data_preprocessor', {}) or {}
        return cls(
            model,
            mean=pre.get('mean', [127.5] * 3),
            std=pre.get('std', [127.5] * 3),
            device=device,
            resize_mode=pre.get('resize_mode', 'square'))

    # ------------------------------------------------------------- state
    @property
    def num_frames(self) -> int:
        self._require_video()
        return len(self.frames)

    @property
    def obj_ids(self) -> List[int]:
        """Object ids with prompts, in the order outputs use."""
        return list(self._prompts)

    def init_state(self, video: str) -> dict:
        """Open a video (``.mp4`` or a frame folder) and forget all prompts.

        Returns:
            dict with ``num_frames``, ``height``, ``width`` and ``fps``.

        Raises:
            FileNotFoundError / VideoReadError naming the path.
        """
        frames = VideoFrames(video)
        self.frames = frames
        self._meta = {}
        self._lazy_frames = None
        _, self._meta = self._preprocess(0)
        self.reset_state()
        return dict(
            num_frames=len(frames),
            height=frames.height,
            width=frames.width,
            fps=frames.fps)

    def reset_state(self) -> None:
        """Drop every object and prompt (the video stays open)."""
        self._prompts = OrderedDict()

    def remove_object(self, obj_id: int) -> None:
        """Forget an object and all its prompts.

        Raises:
            KeyError: unknown ``obj_id``.
        """
        if obj_id not in self._prompts:
            raise KeyError(f'no object {obj_id} (objects: {self.obj_ids})')
        del self._prompts[obj_id]

    def _require_video(self) -> None:
        if self.frames is None:
            raise RuntimeError('call init_state(video) first')

    def _preprocess(self, idx: int) -> Tuple[Tensor, Dict]:
        from esam3.models.data_preprocessors import preprocess_image
        img = self.frames[idx]
        if img.shape[:2] != (self.frames.height, self.frames.width) and \
                self._meta:
            raise ValueError(f'frame {idx} of {self.frames.path} is '
                             f'{img.shape[1]}x{img.shape[0]}, the video is '
                             f'{self.frames.width}x{self.frames.height}')
        pixels, meta = preprocess_image(
            img,
            self.img_size,
            self.mean,
            self.std,
            resize_mode=self.resize_mode)
        return pixels.to(self.device), meta

    # ----------------------------------------------------------- prompts
    def _to_input_xy(self, xy: np.ndarray, what: str) -> Tensor:
        h, w = self._meta['ori_shape'][:2]
        check_finite(xy, what)
        if xy.size == 0:
            raise ValueError(f'empty {what}')
        if (xy[..., 0] < 0).any() or (xy[..., 0] > w).any() or \
                (xy[..., 1] < 0).any() or (xy[..., 1] > h).any():
            raise ValueError(f'{what} outside the frame ({w}x{h}): '
                             f'{xy.reshape(-1, 2).tolist()}')
        sx, sy = self._meta['scale_factor'][:2]
        return torch.as_tensor(
            xy * np.array([sx, sy]), dtype=torch.float32, device=self.device)

    def _mask_to_input(self, mask: np.ndarray) -> Tensor:
        """Original-size binary mask -> ``[S, S]`` float at input scale
        (resized like the image, per axis in square mode; padded bottom/right
        with 0 in letterbox mode)."""
        mask = check_finite(np.asarray(mask), 'mask')
        h, w = self._meta['ori_shape'][:2]
        if mask.shape != (h, w):
            raise ValueError(f'mask must be {h}x{w} (the frame size), got '
                             f'{mask.shape}')
        if not mask.astype(bool).any():
            raise ValueError('empty mask prompt')
        ih, iw = self._meta['img_shape'][:2]
        m = torch.as_tensor(mask.astype(np.float32), device=self.device)
        m = F.interpolate(
            m[None, None], size=(ih, iw), mode='bilinear',
            align_corners=False)[0, 0] >= 0.5
        out = torch.zeros(self.img_size, self.img_size, device=self.device)
        out[:ih, :iw] = m.float()
        return out

    def _build_prompt(self, points, labels, box, mask) -> dict:
        """User prompt -> input-scale tensors of one object."""
        if mask is not None:
            if points is not None or box is not None:
                raise ValueError('a mask prompt cannot be combined with '
                                 'points or a box on the same frame')
            return dict(mask=self._mask_to_input(mask))
        if points is None and box is None:
            raise ValueError('add_prompt needs points, a box or a mask')
        prompt = dict(box=None, points=None, labels=None)
        if box is not None:
            b = np.asarray(box, dtype=np.float32).reshape(-1)
            if b.shape != (4, ):
                raise ValueError(f'box must be [x1, y1, x2, y2], got {box}')
            if b[2] <= b[0] or b[3] <= b[1]:
                raise ValueError(f'zero-area or inverted box {b.tolist()}')
            prompt['box'] = self._to_input_xy(b.reshape(2, 2),
                                              'box').reshape(4)
        if points is not None:
            p = np.asarray(points, dtype=np.float32).reshape(-1, 2)
            if labels is None:
                raise ValueError('points need labels (1 fg / 0 bg)')
            lab = np.asarray(labels).reshape(-1)
            if len(lab) != len(p):
                raise ValueError(f'{len(p)} points but {len(lab)} labels')
            if not np.isin(lab, (0, 1)).all():
                raise ValueError(f'point labels must be 0 or 1, got {lab}')
            prompt['points'] = self._to_input_xy(p, 'points')
            prompt['labels'] = torch.as_tensor(
                lab, dtype=torch.long, device=self.device)
        return prompt

    @staticmethod
    def _as_sam_points(prompt: dict) -> Tuple[Tensor, Tensor]:
        """Box corners (labels 2 / 3) followed by the clicks."""
        coords, lbls = [], []
        if prompt['box'] is not None:
            box = prompt['box']
            coords.append(box.reshape(2, 2))
            lbls.append(
                torch.tensor([P.BOX_TL_LABEL, P.BOX_BR_LABEL],
                             device=box.device))
        if prompt['points'] is not None:
            coords.append(prompt['points'])
            lbls.append(prompt['labels'])
        return torch.cat(coords), torch.cat(lbls).long()

    @torch.no_grad()
    def add_prompt(self,
                   frame_idx: int,
                   obj_id: int,
                   points: Optional[Sequence] = None,
                   labels: Optional[Sequence[int]] = None,
                   box: Optional[Sequence[float]] = None,
                   mask: Optional[np.ndarray] = None) -> PropagateItem:
        """Prompt one object on one frame and return its mask there.

        Args:
            frame_idx: frame index (any frame).
            obj_id: your id for the object (new ids add objects).
            points: ``[n, 2]`` clicks (x, y original pixels) with
                ``labels`` (1 foreground, 0 background).
            box: ``[x1, y1, x2, y2]`` (original pixels); combinable with
                points.
            mask: bool ``[H, W]`` mask of the object (alone).

        Returns:
            ``(frame_idx, [obj_id], masks bool [1, H, W])``: the prompt's
            answer on that frame.
        """
        self._require_video()
        if not 0 <= int(frame_idx) < len(self.frames):
            raise IndexError(f'frame {frame_idx} out of range: the video has '
                             f'{len(self.frames)} frames')
        prompt = self._build_prompt(points, labels, box, mask)
        self._prompts.setdefault(int(obj_id), {})[int(frame_idx)] = prompt
        if self.is_teacher:
            return self._teacher_answer(int(frame_idx), int(obj_id))
        trunk = self._encode_frame(self._preprocess(int(frame_idx))[0])
        track = self._new_track()
        logits = self._student_step(track, trunk, int(frame_idx), prompt)
        return int(frame_idx), [int(obj_id)], self._to_original(logits)

    # --------------------------------------------------------- propagate
    def _order(self, start_frame: int, reverse: bool,
               max_frames: Optional[int]) -> List[int]:
        n = len(self.frames)
        if not 0 <= start_frame < n:
            raise IndexError(f'start_frame {start_frame} out of range: the '
                             f'video has {n} frames')
        order = list(range(start_frame, -1, -1)) if reverse else list(
            range(start_frame, n))
        return order[:max_frames] if max_frames else order

    @torch.no_grad()
    def propagate(self,
                  start_frame: int = 0,
                  reverse: bool = False,
                  max_frames: Optional[int] = None) -> Iterator[PropagateItem]:
        """Track every prompted object through the video.

        Args:
            start_frame: first frame visited.
            reverse: go backwards (``start_frame``, ..., 0).
            max_frames: stop after this many frames.

        Yields:
            ``(frame_idx, obj_ids, masks)`` with bool masks ``[N, H, W]``
            at the original frame size, ``N = len(obj_ids)``.
        """
        self._require_video()
        if not self._prompts:
            raise RuntimeError('no prompts: call add_prompt() first')
        order = self._order(int(start_frame), reverse, max_frames)
        if self.is_teacher:
            yield from self._teacher_propagate(order, reverse)
        else:
            yield from self._student_propagate(order)

    def _to_original(self, logits: Tensor) -> np.ndarray:
        """Low-res logits ``[N, h, w]`` -> bool ``[N, H, W]``."""
        return paste_masks_to_original(logits, self._meta,
                                       self.img_size).cpu().numpy()

    # ---------------------------------------------------- student back-end
    def _encode_frame(self, pixels: Tensor):
        """Encoder output of one normalised frame (overridden by the ONNX
        predictor)."""
        return self.encode_trunk(pixels)

    def _new_track(self) -> dict:
        """An empty tracking state of one object (overridden by the ONNX
        predictor)."""
        return self.model.new_track()

    def _student_step(self, track: dict, trunk: Tensor, frame_idx: int,
                      prompt: Optional[dict]) -> Tensor:
        """One object, one frame: ``[1, h, w]`` low-res mask logits."""
        step_prompt = None
        if prompt is not None and 'mask' in prompt:
            step_prompt = dict(masks=prompt['mask'][None, None])
        elif prompt is not None:
            step_prompt = {}
            if prompt['box'] is not None:
                step_prompt['boxes'] = prompt['box'].reshape(1, 1, 4)
            if prompt['points'] is not None:
                step_prompt.update(
                    points=prompt['points'][None, None],
                    labels=prompt['labels'][None, None])
        logits, scores = self.model.track_step(track, trunk, frame_idx,
                                               step_prompt)
        # an absent object (score <= 0) has an empty mask
        return hide_absent(logits, scores)[0]  # [1, h, w]

    def _student_propagate(self, order: List[int]) -> Iterator[PropagateItem]:
        obj_ids = self.obj_ids
        trunks: Dict[int, Tensor] = {}

        def trunk_of(f: int) -> Tensor:
            if f not in trunks:
                trunks[f] = self._encode_frame(self._preprocess(f)[0])
            return trunks[f]

        tracks = {}
        for obj in obj_ids:
            tracks[obj] = self._new_track()
            # condition the memory on all prompts first, nearest to the
            # start last (the bank keeps the latest conditioning frames)
            for f in sorted(
                    self._prompts[obj], key=lambda f: -abs(f - order[0])):
                self._student_step(tracks[obj], trunk_of(f), f,
                                   self._prompts[obj][f])
        prompted = {f for obj in obj_ids for f in self._prompts[obj]}
        trunks = {f: t for f, t in trunks.items() if f in prompted}
        for f in order:
            trunk = trunks[f] if f in trunks else self._encode_frame(
                self._preprocess(f)[0])
            logits = [
                self._student_step(tracks[obj], trunk, f,
                                   self._prompts[obj].get(f))
                for obj in obj_ids
            ]
            yield f, list(obj_ids), self._to_original(torch.cat(logits))

    # ---------------------------------------------------- teacher back-end
    @property
    def _teacher_frames(self) -> LazyFrameDict:
        """Preprocessed frames shared by the per-object sessions."""
        if self._lazy_frames is None:
            self._lazy_frames = LazyFrameDict(
                len(self.frames), lambda f: self._preprocess(f)[0][0])
        return self._lazy_frames

    def _teacher_session(self):
        from transformers.models.sam3_tracker_video import \
            Sam3TrackerVideoInferenceSession
        session = Sam3TrackerVideoInferenceSession(
            video=None,
            video_height=self.img_size,
            video_width=self.img_size,
            inference_device=self.device,
            inference_state_device=self.device,
            video_storage_device=self.device,
            dtype=torch.float32)
        session.processed_frames = self._teacher_frames
        return session

    def _teacher_add(self, session, obj_id: int, frame_idx: int,
                     prompt: dict) -> None:
        idx = session.obj_id_to_idx(obj_id)
        if 'mask' in prompt:
            session.add_mask_inputs(idx, frame_idx, prompt['mask'][None, None])
        else:
            coords, labels = self._as_sam_points(prompt)
            session.add_point_inputs(
                idx, frame_idx,
                dict(
                    point_coords=coords[None, None],
                    point_labels=labels[None, None].int()))
        if obj_id not in session.obj_with_new_inputs:
            session.obj_with_new_inputs.append(obj_id)

    def _teacher_prepare(self, obj_id: int, frames: Sequence[int]):
        """A session of one object holding its prompts on ``frames``, each
        prompted frame answered (its conditioning output).

        One session per object keeps objects independent, as in the student
        back-end.
        """
        session = self._teacher_session()
        out = None
        for f in sorted(frames):
            self._teacher_add(session, obj_id, f, self._prompts[obj_id][f])
            out = self.model.tracker(inference_session=session, frame_idx=f)
        return session, out

    def _teacher_answer(self, frame_idx: int, obj_id: int) -> PropagateItem:
        _, out = self._teacher_prepare(obj_id, [frame_idx])
        return frame_idx, [obj_id], self._to_original(out.pred_masks[:, 0])

    def _teacher_propagate(self, order: List[int],
                           reverse: bool) -> Iterator[PropagateItem]:
        obj_ids = self.obj_ids
        iters = []
        for obj in obj_ids:
            session, _ = self._teacher_prepare(obj, list(self._prompts[obj]))
            iters.append(
                self.model.tracker.propagate_in_video_iterator(
                    session,
                    start_frame_idx=order[0],
                    max_frame_num_to_track=len(order) - 1,
                    reverse=reverse))
        for outs in zip(*iters):
            logits = torch.cat([o.pred_masks[:, 0] for o in outs])
            yield outs[0].frame_idx, list(obj_ids), self._to_original(logits)
