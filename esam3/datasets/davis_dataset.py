# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""DAVIS-style frame folders (DAVIS 2017, SA-V val/test) for Stage 2."""
import os
import os.path as osp
from typing import List, Optional

import cv2
import numpy as np
from PIL import Image

from esam3.registry import DATASETS
from .sav_dataset import SAVAnnotationError, SAVDataset
from .video_io import list_frame_files


@DATASETS.register_module()
class DAVISDataset(SAVDataset):
    """Videos stored as JPEG frames with PNG object masks.

    Two mask layouts are read:

    * ``'palette'`` (DAVIS 2016/2017): ``<ann>/<video>/%05d.png`` palette
      PNG, pixel value = object id (0 background, 255 void is ignored);
    * ``'per_object'`` (SA-V val/test): ``<ann>/<video>/<obj>/%05d.png``
      binary PNG per object, objects may overlap.

    Annotated frames are the frames having a PNG (every frame for DAVIS,
    every 4th for SA-V val/test ``Annotations_6fps``). Output format and
    clip/object rules are those of :class:`SAVDataset`; ``clip_mode='full'``
    (the default here) yields whole videos for J&F evaluation, objects
    being those visible on the first annotated frame.

    Args:
        data_root (str): Dataset root.
        ann_file (str): Text file listing the videos (e.g.
            ``ImageSets/2017/val.txt``); empty: every folder under the image
            prefix.
        data_prefix (dict): ``img`` (frames) and ``ann`` (masks) folders.
            Defaults to DAVIS ``JPEGImages/480p`` / ``Annotations/480p``.
        mask_layout (str): ``'palette'`` or ``'per_object'``.
        frame_interval (int): Use every n-th annotated frame (e.g. 4 to
            train at 6 fps on 24 fps DAVIS). Defaults to 1.
        clip_mode (str): See :class:`SAVDataset`. Defaults to ``'full'``.
        max_objects (int, optional): See :class:`SAVDataset`. Defaults to
            None (all objects).
        **kwargs: Other :class:`SAVDataset` arguments.
    """

    METAINFO: dict = dict(dataset_name='DAVIS')
    IGNORE_INDEX = 255

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: Optional[dict] = None,
                 mask_layout: str = 'palette',
                 frame_interval: int = 1,
                 clip_mode: str = 'full',
                 max_objects: Optional[int] = None,
                 **kwargs) -> None:
        if mask_layout not in ('palette', 'per_object'):
            raise ValueError(f'mask_layout must be palette/per_object, got '
                             f'{mask_layout!r}')
        self.mask_layout = mask_layout
        self.frame_interval = int(frame_interval)
        kwargs.setdefault('annot_stride', 1)
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix,
            clip_mode=clip_mode,
            max_objects=max_objects,
            **kwargs)

    @staticmethod
    def _default_prefix() -> dict:
        return dict(img='JPEGImages/480p', ann='Annotations/480p')

    # ------------------------------------------------------------ listing
    def load_data_list(self) -> List[dict]:
        """One entry per video with its frames and per-frame object ids."""
        img_root, ann_root = self.data_prefix['img'], self.data_prefix['ann']
        names = self._read_id_list()
        if names is None:
            names = sorted(
                d for d in os.listdir(img_root)
                if osp.isdir(osp.join(img_root, d)))
        data_list = []
        for name in names:
            try:
                entry = self._scan_video(name, osp.join(img_root, name),
                                         osp.join(ann_root, name))
            except (SAVAnnotationError, OSError, ValueError) as e:
                self._invalid(name, str(e), at_init=True)
                continue
            data_list.append(entry)
        if not data_list:
            raise ValueError(f'{type(self).__name__}: no valid video found '
                             f'in {img_root} (see the warnings above)')
        return data_list

    def _scan_video(self, name: str, img_dir: str, ann_dir: str) -> dict:
        """Frames, annotated frames, object ids and visibility of a video."""
        frames = list_frame_files(img_dir)
        if not frames:
            raise SAVAnnotationError(f'no frames in {img_dir}')
        first = cv2.imread(osp.join(img_dir, frames[0]), cv2.IMREAD_COLOR)
        if first is None:
            raise SAVAnnotationError(f'cannot read {frames[0]} in {img_dir}')
        h, w = first.shape[:2]
        stem_to_idx = {osp.splitext(f)[0]: i for i, f in enumerate(frames)}
        if not osp.isdir(ann_dir):
            raise FileNotFoundError(f'annotation folder not found: {ann_dir}')
        if self.mask_layout == 'palette':
            stems = sorted(
                osp.splitext(f)[0] for f in os.listdir(ann_dir)
                if f.endswith('.png'))
            obj_ids, per_frame = None, []
            for s in stems:
                index = np.asarray(Image.open(osp.join(ann_dir, s + '.png')))
                self._check_size(name, index.shape, (h, w), s + '.png')
                per_frame.append(
                    set(np.unique(index).tolist()) - {0, self.IGNORE_INDEX})
            obj_ids = sorted(set().union(*per_frame)) if per_frame else []
            present = np.array([[o in p for o in obj_ids] for p in per_frame],
                               bool).reshape(len(stems), len(obj_ids))
            mask_files = [osp.join(ann_dir, s + '.png') for s in stems]
        else:
            obj_dirs = sorted(
                d for d in os.listdir(ann_dir)
                if osp.isdir(osp.join(ann_dir, d)))
            obj_ids = [int(d) for d in obj_dirs]
            stems = sorted({
                osp.splitext(f)[0]
                for d in obj_dirs
                for f in os.listdir(osp.join(ann_dir, d)) if f.endswith('.png')
            })
            present = np.zeros((len(stems), len(obj_ids)), bool)
            mask_files = []
            for k, s in enumerate(stems):
                row = []
                for o, d in enumerate(obj_dirs):
                    p = osp.join(ann_dir, d, s + '.png')
                    if osp.isfile(p):
                        m = np.asarray(Image.open(p))
                        self._check_size(name, m.shape, (h, w), p)
                        present[k, o] = bool((m > 0).any())
                        row.append(p)
                    else:
                        row.append(None)
                mask_files.append(row)
        missing = [s for s in stems if s not in stem_to_idx]
        if missing:
            raise SAVAnnotationError(
                f'masks {missing[:3]} have no matching frame in {img_dir}')
        return dict(
            video_id=name,
            frame_dir=img_dir,
            frame_files=frames,
            height=h,
            width=w,
            ann_frame_ids=[stem_to_idx[s] for s in stems],
            obj_ids=obj_ids,
            present=present,
            mask_files=mask_files)

    @staticmethod
    def _check_size(name: str, shape, expected, what: str) -> None:
        if tuple(shape[:2]) != tuple(expected):
            raise SAVAnnotationError(
                f'DAVIS video {name}: mask {what} has size {tuple(shape[:2])}'
                f' but the frames are {tuple(expected)}')

    # --------------------------------------------------------- annotation
    def load_video_annotation(self, info: dict) -> dict:
        """Annotation view (see :meth:`SAVDataset.load_video_annotation`)."""
        keep = list(range(0, len(info['ann_frame_ids']), self.frame_interval))
        return dict(
            num_video_frames=len(info['frame_files']),
            height=info['height'],
            width=info['width'],
            frame_ids=[info['ann_frame_ids'][k] for k in keep],
            obj_ids=list(info['obj_ids']),
            present=np.asarray(info['present'])[keep],
            mask_files=[info['mask_files'][k] for k in keep])

    def clip_sources(self, info: dict, vann: dict, clip: List[int],
                     objs: List[int]) -> dict:
        """Frame image paths and mask PNG paths of the clip."""
        frame_paths = [
            osp.join(info['frame_dir'],
                     info['frame_files'][vann['frame_ids'][k]]) for k in clip
        ]
        if self.mask_layout == 'palette':
            masks = [vann['mask_files'][k] for k in clip]
        else:
            masks = [[vann['mask_files'][k][o] for o in objs] for k in clip]
        return dict(
            frame_paths=frame_paths,
            mask_paths=masks,
            mask_layout=self.mask_layout)
