# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SA-V (Segment Anything Video) training clips for Stage 2."""
import json
import logging
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from pycocotools import mask as mask_utils

from esam3.registry import DATASETS
from .utils import InvalidRLEError, check_rle
from .video_io import VideoReadError, probe_video


class SAVAnnotationError(ValueError):
    """A video's masklet annotation disagrees with the video or itself."""


@DATASETS.register_module()
class SAVDataset(BaseDataset):
    """SA-V videos (``sav_XXXXXX.mp4`` + ``sav_XXXXXX_{manual,auto}.json``).

    A sample is a clip of ``T`` consecutive *annotated* frames (SA-V
    annotates every ``annot_stride``-th frame of the 24 fps video, i.e. 6 fps;
    consecutive annotated frames = "stride 1" in the EfficientSAM3 recipe).
    The tracked objects of a clip are the masklets that are non-empty on its
    first frame (the prompt frame), at most ``max_objects`` of them, in the
    same order in every frame; an object that disappears later keeps an
    empty mask. Objects absent from the first frame are skipped.

    Each video's annotation is checked against the decoded video when the
    sample is drawn (or for all videos at start-up with
    ``check_on_init=True``): number of annotated frames vs. video length,
    RLE size vs. video size, one RLE per object per frame. A bad video is
    either skipped with a warning naming its id (``on_invalid='skip'``,
    training only: mmengine then draws another sample) or raises
    :class:`SAVAnnotationError` naming it. No dummy masklet is ever produced.

    The pipeline receives video-level fields (``video_id``, ``video_path``,
    ``frame_ids``, ``frame_rles``, ``instances_ids``, ``ori_shape``,
    ``video_length``) and should start with
    :class:`esam3.datasets.transforms.LoadVideoClip`.

    Args:
        data_root (str): Root of the dataset.
        ann_file (str): Optional text file listing the videos to use, one
            path stem per line relative to the video folder (``sav_000001``
            or ``sav_000/sav_000001``). Empty: every ``*.mp4`` under the
            video folder (searched recursively, as SA-V train is split in
            ``sav_000`` ... ``sav_055``) that has an annotation file.
        data_prefix (dict): ``video``: folder of the mp4 and json files,
            relative to ``data_root``. Defaults to ``dict(video='')``.
        ann_type (str): ``'manual'`` or ``'auto'`` (json suffix).
            Defaults to ``'manual'``.
        num_frames (int | Sequence[int]): Clip length ``T``, or a
            ``(min, max)`` range sampled uniformly per clip in random mode
            (the maximum is used otherwise). Defaults to ``(4, 8)``.
        annot_stride (int): Video frames per annotated frame. Defaults to 4.
        clip_mode (str): ``'random'`` (random length and temporal crop whose
            first frame shows at least one object), ``'first'`` (first such
            clip) or ``'full'`` (every annotated frame from the first one
            showing an object). Defaults to ``'random'``.
        max_objects (int, optional): Most tracks per clip (random subset in
            random mode, lowest ids otherwise). ``None``: all. Defaults to 8.
        frame_tolerance (int): Allowed shortfall of annotated frames w.r.t.
            ``ceil(video_frames / annot_stride)``. Defaults to 1.
        on_invalid (str): ``'skip'`` or ``'raise'`` for bad videos. Test
            mode always raises. Defaults to ``'skip'``.
        check_on_init (bool): Validate every video at start-up and drop the
            bad ones (logged). Defaults to False (checked when drawn).
        **kwargs: Forwarded to :class:`mmengine.dataset.BaseDataset`
            (``pipeline``, ``test_mode``, ``serialize_data``...).
    """

    METAINFO: dict = dict(dataset_name='SA-V')

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: Optional[dict] = None,
                 ann_type: str = 'manual',
                 num_frames: Union[int, Sequence[int]] = (4, 8),
                 annot_stride: int = 4,
                 clip_mode: str = 'random',
                 max_objects: Optional[int] = 8,
                 frame_tolerance: int = 1,
                 on_invalid: str = 'skip',
                 check_on_init: bool = False,
                 **kwargs) -> None:
        if clip_mode not in ('random', 'first', 'full'):
            raise ValueError(f'clip_mode must be random/first/full, got '
                             f'{clip_mode!r}')
        if on_invalid not in ('skip', 'raise'):
            raise ValueError(f'on_invalid must be skip/raise, got '
                             f'{on_invalid!r}')
        if isinstance(num_frames, int):
            num_frames = (num_frames, num_frames)
        self.num_frames: Tuple[int,
                               int] = (int(num_frames[0]), int(num_frames[-1]))
        if not 1 <= self.num_frames[0] <= self.num_frames[1]:
            raise ValueError(f'invalid num_frames {num_frames}')
        self.ann_type = ann_type
        self.annot_stride = int(annot_stride)
        self.clip_mode = clip_mode
        self.max_objects = max_objects
        self.frame_tolerance = int(frame_tolerance)
        self.on_invalid = on_invalid
        self.check_on_init = check_on_init
        self._probe_cache: Dict[str, Tuple[int, int, int]] = {}
        # video id -> skipped draws (see _invalid)
        self.invalid_videos: Dict[str, int] = {}
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix={
                **self._default_prefix(),
                **(data_prefix or {})
            },
            **kwargs)

    # ------------------------------------------------------------ listing
    @staticmethod
    def _default_prefix() -> dict:
        return dict(video='')

    def _read_id_list(self) -> Optional[List[str]]:
        """Video ids listed in ``ann_file`` (None when no list is given)."""
        if not self.ann_file:
            return None
        with open(self.ann_file, encoding='utf-8') as f:
            ids = [ln.strip() for ln in f]
        return [i for i in ids if i and not i.startswith('#')]

    def load_data_list(self) -> List[dict]:
        """One entry per video: ``video_id``, ``video_path``, ``ann_path``."""
        video_dir = self.data_prefix.get('video', self.data_root)
        suffix = f'_{self.ann_type}.json'
        stems = self._read_id_list()
        if stems is None:
            if not osp.isdir(video_dir):
                raise FileNotFoundError(f'SA-V folder not found: {video_dir}')
            stems = []
            for root, _, files in os.walk(video_dir):  # sav_000/, sav_001/..
                rel = osp.relpath(root, video_dir)
                stems += [
                    osp.normpath(osp.join(rel, f[:-4])) for f in files
                    if f.endswith('.mp4')
                ]
            stems.sort()
        data_list = []
        for stem in stems:
            vid = osp.basename(stem)
            entry = dict(
                video_id=vid,
                video_path=osp.join(video_dir, stem + '.mp4'),
                ann_path=osp.join(video_dir, stem + suffix))
            if not osp.isfile(entry['ann_path']):
                self._invalid(
                    vid, f'annotation file {entry["ann_path"]} '
                    'not found',
                    at_init=True)
                continue
            if self.check_on_init:
                try:
                    self.load_video_annotation(entry)
                except (SAVAnnotationError, OSError) as e:
                    self._invalid(vid, str(e), at_init=True)
                    continue
            data_list.append(entry)
        if not data_list:
            raise ValueError(f'{type(self).__name__}: no valid video found '
                             f'in {video_dir} (see the warnings above)')
        return data_list

    def _invalid(self,
                 video_id: str,
                 reason: str,
                 at_init: bool = False) -> None:
        """Log (skip) or raise for a bad video, naming it.

        A video skipped while drawing samples is logged once, with the
        running totals (distinct bad videos, skipped draws); later draws
        of it are only counted (:attr:`invalid_videos`) and skip without
        decoding it again.
        """
        msg = f'{type(self).__name__}: ' + (
            reason if video_id in reason else f'video {video_id}: {reason}')
        if self.on_invalid == 'raise' or (self.test_mode and not at_init):
            raise SAVAnnotationError(msg)
        if at_init:
            print_log(
                msg + ' -> skipped', logger='current', level=logging.WARNING)
            return
        first = video_id not in self.invalid_videos
        self.invalid_videos[video_id] = self.invalid_videos.get(video_id,
                                                                0) + 1
        if first:
            draws = sum(self.invalid_videos.values())
            print_log(
                f'{msg} -> skipped (logged once per video; '
                f'{len(self.invalid_videos)} bad video(s), {draws} '
                'skipped draw(s) so far)',
                logger='current',
                level=logging.WARNING)

    # --------------------------------------------------------- annotation
    def _probe(self, path: str) -> Tuple[int, int, int]:
        """(num_frames, height, width) of a video, cached per path."""
        if path not in self._probe_cache:
            info = probe_video(path)
            self._probe_cache[path] = (int(info['num_frames']),
                                       int(info['height']), int(info['width']))
        return self._probe_cache[path]

    def load_video_annotation(self, info: dict) -> dict:
        """Parse and check one video's masklets against the video.

        Args:
            info (dict): A ``data_list`` entry.

        Returns:
            dict: ``num_video_frames``, ``height``, ``width``, ``frame_ids``
            (video frame index of each annotated frame), ``obj_ids``,
            ``present`` (bool ``[K, O]``) and ``rles`` (``[K][O]``).

        Raises:
            SAVAnnotationError: On any inconsistency (message names the
                video id).
            OSError: If the video cannot be read.
        """
        vid = info['video_id']

        def fail(reason: str):
            raise SAVAnnotationError(f'SA-V video {vid}: {reason}')

        with open(info['ann_path'], encoding='utf-8') as f:
            try:
                ann = json.load(f)
            except json.JSONDecodeError as e:
                fail(f'invalid json {info["ann_path"]}: {e}')
        masklet = ann.get('masklet')
        if not isinstance(masklet, list) or not masklet:
            fail('no masklet annotation')
        num_obj = int(ann.get('masklet_num', len(masklet[0])))
        obj_ids = [int(i) for i in ann.get('masklet_id', range(num_obj))]
        if len(obj_ids) != num_obj:
            fail(f'masklet_num={num_obj} but {len(obj_ids)} masklet_id')
        num_vframes, h, w = self._probe(info['video_path'])
        decl = (ann.get('video_height'), ann.get('video_width'))
        if None not in decl and (int(decl[0]), int(decl[1])) != (h, w):
            fail(f'json video size {int(decl[0])}x{int(decl[1])} != decoded '
                 f'video size {h}x{w}')
        num_ann = len(masklet)
        last = (num_ann - 1) * self.annot_stride
        expected = math.ceil(num_vframes / self.annot_stride)
        if last >= num_vframes or num_ann < expected - self.frame_tolerance:
            fail(f'masklet has {num_ann} annotated frames (every '
                 f'{self.annot_stride}th frame) but the video has '
                 f'{num_vframes} frames (expected {expected})')
        present = np.zeros((num_ann, num_obj), bool)
        for k, frame in enumerate(masklet):
            if not isinstance(frame, list) or len(frame) != num_obj:
                fail(f'annotated frame {k} has '
                     f'{len(frame) if isinstance(frame, list) else frame} '
                     f'masks, expected {num_obj}')
            for o, rle in enumerate(frame):
                if rle is None:
                    continue
                if [int(s) for s in rle['size']] != [h, w]:
                    fail(f'mask size {rle["size"]} (frame {k}, object '
                         f'{obj_ids[o]}) != video size [{h}, {w}]')
                try:
                    check_rle(rle)
                except InvalidRLEError as err:
                    fail(f'invalid RLE (frame {k}, object {obj_ids[o]}) in '
                         f'{info["ann_path"]}: {err}')
            valid = [o for o, r in enumerate(frame) if r is not None]
            if valid:
                present[k,
                        valid] = mask_utils.area([frame[o] for o in valid]) > 0
        return dict(
            num_video_frames=num_vframes,
            height=h,
            width=w,
            frame_ids=[k * self.annot_stride for k in range(num_ann)],
            obj_ids=obj_ids,
            present=present,
            rles=masklet)

    # ------------------------------------------------------------ sampling
    def _is_random(self) -> bool:
        return self.clip_mode == 'random' and not self.test_mode

    def sample_clip(self, present: np.ndarray) -> Optional[List[int]]:
        """Annotated-frame positions of a clip (None if none fits).

        Args:
            present (np.ndarray): bool ``[K, O]`` object visibility.

        Returns:
            list[int] | None: ``T`` consecutive positions whose first one
            shows at least one object.
        """
        num_ann = present.shape[0]
        visible = present.any(1)
        if self.clip_mode == 'full':
            starts = np.flatnonzero(visible)
            return list(range(int(starts[0]),
                              num_ann)) if len(starts) else None
        t_min, t_max = self.num_frames
        if num_ann < t_min:
            return None
        t_max = min(t_max, num_ann)
        length = int(np.random.randint(t_min, t_max +
                                       1)) if (self._is_random()
                                               and t_min < t_max) else t_max
        starts = np.flatnonzero(visible[:num_ann - length + 1])
        if len(starts) == 0:
            return None
        start = int(np.random.choice(starts)) if self._is_random() else int(
            starts[0])
        return list(range(start, start + length))

    def select_objects(self, present: np.ndarray, first: int) -> List[int]:
        """Object columns visible on the clip's first frame (sorted)."""
        cand = np.flatnonzero(present[first])
        if self.max_objects is not None and len(cand) > self.max_objects:
            if self._is_random():
                cand = np.sort(
                    np.random.choice(cand, self.max_objects, replace=False))
            else:
                cand = cand[:self.max_objects]
        return [int(c) for c in cand]

    def clip_sources(self, info: dict, vann: dict, clip: List[int],
                     objs: List[int]) -> dict:
        """Fields telling ``LoadVideoClip`` where frames and masks are."""
        return dict(
            video_path=info['video_path'],
            frame_rles=[[vann['rles'][k][o] for o in objs] for k in clip])

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Draw a clip of video ``idx`` and run the pipeline on it."""
        info = self.get_data_info(idx)
        vid = info['video_id']
        if vid in self.invalid_videos and not self.test_mode:
            self._invalid(vid, 'known bad')  # counted, not logged again
            return None
        try:
            vann = self.load_video_annotation(info)
        except (SAVAnnotationError, OSError) as e:
            self._invalid(vid, str(e))
            return None
        clip = self.sample_clip(vann['present'])
        if clip is None:
            self._invalid(
                vid, f'no clip of {self.num_frames[0]}+ annotated frames '
                'starting on a frame with a visible object')
            return None
        objs = self.select_objects(vann['present'], clip[0])
        results = dict(
            video_id=vid,
            video_length=vann['num_video_frames'],
            frame_ids=[vann['frame_ids'][k] for k in clip],
            instances_ids=np.array([vann['obj_ids'][o] for o in objs],
                                   dtype=np.int64),
            ori_shape=(vann['height'], vann['width']),
            sample_idx=info['sample_idx'])
        results.update(self.clip_sources(info, vann, clip, objs))
        try:
            return self.pipeline(results)
        except VideoReadError as e:  # frames that do not decode
            self._invalid(vid, str(e))
            return None
