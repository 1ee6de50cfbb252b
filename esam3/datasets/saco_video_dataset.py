# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SA-Co/VEval-style video / noun-phrase pairs (video concept data)."""
import os.path as osp
from collections import defaultdict
from typing import List, Optional

import numpy as np
from mmengine.fileio import load
from pycocotools import mask as mask_utils

from esam3.registry import DATASETS
from .saco_dataset import check_phrase
from .sav_dataset import SAVAnnotationError, SAVDataset
from .utils import InvalidRLEError, check_rle, to_compressed_rle


@DATASETS.register_module()
class SACoVideoDataset(SAVDataset):
    """Video / noun-phrase pairs in the SA-Co/VEval json layout.

    The json holds ``videos`` (``id``, ``video_name``, ``file_names``: the
    annotated frames, ``height``, ``width``), ``annotations`` (one masklet
    each: ``video_id``, ``category_id``, ``segmentations`` = one RLE or
    ``None`` per entry of ``file_names``), ``categories`` (``id``,
    ``name``) and ``video_np_pairs`` (``video_id``, ``category_id``,
    ``noun_phrase``). One sample per pair: its masklets are those of the
    video with the pair's category; a pair without masklets is a negative
    (``is_negative=True``). Without ``video_np_pairs`` every (video,
    category with masklets in it) pair is used, phrase = category name.

    A sample is a clip of ``num_frames`` consecutive annotated frames
    (random start in training; for positives the first frame shows one of
    the masklets, so that the tracker has something to start from) or the
    whole video from its first frame (``clip_mode='full'``, test mode).
    Every masklet of the pair is kept in every frame (empty where it is
    absent). The pipeline starts with
    :class:`~esam3.datasets.transforms.LoadVideoClip` and receives the
    pair's ``text``, ``is_negative`` and ``label`` (category id) as well.

    Errors name the video: a masklet whose ``segmentations`` length differs
    from the video's frame count, an RLE of another size than the video, an
    empty or non-string phrase, a pair pointing at an unknown video.

    Args:
        data_root (str): Dataset root.
        ann_file (str): The json file.
        data_prefix (dict): ``img``: folder the ``file_names`` are relative
            to.
        num_frames (int | Sequence[int]): Clip length (see
            :class:`SAVDataset`).
        clip_mode (str): ``'random'``, ``'first'`` or ``'full'``.
        **kwargs: Other :class:`SAVDataset` / ``BaseDataset`` arguments.
    """

    METAINFO: dict = dict(classes=('object', ), dataset_name='SA-Co/VEval')

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: Optional[dict] = None,
                 num_frames=(4, 8),
                 clip_mode: str = 'random',
                 **kwargs) -> None:
        kwargs.setdefault('annot_stride', 1)
        kwargs.setdefault('max_objects', None)
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix,
            num_frames=num_frames,
            clip_mode=clip_mode,
            **kwargs)

    @staticmethod
    def _default_prefix() -> dict:
        return dict(img='')

    # ------------------------------------------------------------ listing
    def load_data_list(self) -> List[dict]:
        """One entry per video / noun-phrase pair (masklets checked)."""
        ann = load(self.ann_file)
        if not isinstance(ann, dict) or 'videos' not in ann:
            raise ValueError(f'{self.ann_file}: not an SA-Co/VEval json (no '
                             '"videos" list)')
        videos = {}
        for v in ann['videos']:
            name = v.get('video_name', str(v['id']))
            files = v.get('file_names')
            if not isinstance(files, list) or not files:
                raise SAVAnnotationError(
                    f'{self.ann_file}: video {name} has no file_names')
            for key in ('height', 'width'):
                if key not in v:
                    raise SAVAnnotationError(
                        f'{self.ann_file}: video {name} has no {key}')
            videos[v['id']] = v
        cat_names = {c['id']: c['name'] for c in ann.get('categories', [])}
        masklets = defaultdict(list)
        for a in ann.get('annotations', []):
            v = videos.get(a.get('video_id'))
            if v is None:
                raise SAVAnnotationError(
                    f'{self.ann_file}: annotation {a.get("id")} points at '
                    f'unknown video_id {a.get("video_id")}')
            masklets[(a['video_id'],
                      a['category_id'])].append(self._check_masklet(a, v))
        pairs = ann.get('video_np_pairs')
        if pairs is None:
            pairs = [
                dict(
                    id=k,
                    video_id=vid,
                    category_id=cid,
                    noun_phrase=cat_names.get(cid))
                for k, (vid, cid) in enumerate(sorted(masklets))
            ]
        data_list = []
        for p in pairs:
            v = videos.get(p.get('video_id'))
            if v is None:
                raise SAVAnnotationError(
                    f'{self.ann_file}: video_np_pair {p.get("id")} points '
                    f'at unknown video_id {p.get("video_id")}')
            name = v.get('video_name', str(v['id']))
            phrase = check_phrase(
                p.get('noun_phrase', cat_names.get(p.get('category_id'))),
                f'{name}/{p.get("id")}', 'noun_phrase')
            tracks = masklets.get((v['id'], p['category_id']), [])
            data_list.append(
                dict(
                    video_id=name,
                    pair_id=p.get('id'),
                    frame_paths=[
                        osp.join(self.data_prefix['img'], f)
                        for f in v['file_names']
                    ],
                    height=int(v['height']),
                    width=int(v['width']),
                    text=phrase,
                    label=int(p['category_id']),
                    is_negative=not tracks,
                    obj_ids=[t['id'] for t in tracks],
                    rles=[t['segmentations'] for t in tracks]))
        if not data_list:
            raise ValueError(f'{self.ann_file}: no video / noun-phrase pair')
        return data_list

    def _check_masklet(self, a: dict, video: dict) -> dict:
        name = video.get('video_name', str(video['id']))
        segs = a.get('segmentations')
        n = len(video['file_names'])
        if not isinstance(segs, list) or len(segs) != n:
            got = len(segs) if isinstance(segs, list) else segs
            raise SAVAnnotationError(
                f'{self.ann_file}: video {name} masklet {a.get("id")} has '
                f'{got} segmentations for {n} frames')
        h, w = int(video['height']), int(video['width'])
        rles = []
        for k, s in enumerate(segs):
            if s is None:
                rles.append(None)
                continue
            if [int(x) for x in s.get('size', ())] != [h, w]:
                raise SAVAnnotationError(
                    f'{self.ann_file}: video {name} masklet {a.get("id")} '
                    f'frame {k}: RLE size {s.get("size")} != video size '
                    f'[{h}, {w}]')
            try:
                check_rle(s)
            except InvalidRLEError as err:
                raise SAVAnnotationError(
                    f'{self.ann_file}: video {name} masklet {a.get("id")} '
                    f'frame {k}: invalid RLE ({err})') from err
            rles.append(to_compressed_rle(s, h, w))
        return dict(id=int(a.get('id', 0)), segmentations=rles)

    # --------------------------------------------------------- sampling
    @staticmethod
    def _present(info: dict) -> np.ndarray:
        """Bool ``[K, N]``: masklet ``n`` visible on frame ``k``."""
        k = len(info['frame_paths'])
        present = np.zeros((k, len(info['rles'])), bool)
        for n, segs in enumerate(info['rles']):
            for t, r in enumerate(segs):
                present[t, n] = r is not None and mask_utils.area(r) > 0
        return present

    def _clip(self, info: dict) -> Optional[List[int]]:
        """Frame positions of the clip: the whole video in ``'full'`` mode;
        else :meth:`SAVDataset.sample_clip` with the first frame showing a
        masklet (any frame for a negative pair)."""
        k = len(info['frame_paths'])
        if self.clip_mode == 'full':
            return list(range(k))
        present = np.ones((k, 1), bool) if info['is_negative'] else \
            self._present(info)
        return self.sample_clip(present)

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Draw a clip of pair ``idx`` and run the pipeline on it."""
        info = self.get_data_info(idx)
        clip = self._clip(info)
        if clip is None:
            self._invalid(
                info['video_id'], f'pair {info["pair_id"]}: no clip of '
                f'{self.num_frames[0]}+ frames (starting on a '
                'frame showing the concept)')
            return None
        results = dict(
            video_id=info['video_id'],
            video_length=len(info['frame_paths']),
            frame_ids=clip,
            frame_paths=[info['frame_paths'][k] for k in clip],
            frame_rles=[[segs[k] for segs in info['rles']] for k in clip],
            instances_ids=np.asarray(info['obj_ids'], np.int64),
            ori_shape=(info['height'], info['width']),
            text=info['text'],
            label=info['label'],
            is_negative=info['is_negative'],
            sample_idx=info['sample_idx'])
        return self.pipeline(results)
