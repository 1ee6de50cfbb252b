# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Loading and packing of video clips (Stage 2).

A video pipeline is::

    LoadVideoClip                       # video-level fields -> per-frame lists
    mmcv.TransformBroadcaster(          # SAME random params for every frame
        share_random_params=True,
        transforms=[mmdet.Resize / mmcv.RandomResize, mmdet.RandomFlip,
                    PadBottomRight (or mmdet.Pad)])
    PackVideoInputs                     # -> inputs [T, 3, S, S] uint8 +
                                        #    TrackDataSample

After :class:`LoadVideoClip` every field of the results is a list with one
item per frame (the convention of MMDetection's video pipelines), so the
broadcaster can scatter them to per-frame image transforms.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import PackTrackInputs
from mmdet.structures.mask import BitmapMasks
from PIL import Image

from esam3.registry import TRANSFORMS
from ..utils import decode_rles, encode_mask, to_compressed_rle
from ..video_io import read_frame_files, read_video_frames


def _decode_frame(rles: Sequence[Optional[dict]],
                  shape: Tuple[int, int]) -> Tuple[np.ndarray, List[dict]]:
    """Masks ``[N, H, W]`` of one frame; absent (None) objects -> empty."""
    h, w = shape
    rles = [
        encode_mask(np.zeros(shape, np.uint8))
        if r is None else to_compressed_rle(r, h, w) for r in rles
    ]
    return decode_rles(rles, h, w), rles


def _read_index_png(path: str) -> np.ndarray:
    """Object-index map of a palette (or greyscale) PNG."""
    img = Image.open(path)
    if img.mode not in ('P', 'L', '1', 'I;16', 'I'):
        raise ValueError(f'{path}: expected a palette/greyscale index PNG, '
                         f'got mode {img.mode}')
    return np.asarray(img)


@TRANSFORMS.register_module()
class LoadVideoClip(BaseTransform):
    """Decode the frames and object masks of a clip.

    Frames come from ``video_path`` + ``frame_ids`` (decord) or from
    ``frame_paths`` (one image per frame). Masks come from one of:

    * ``frame_rles``: ``[T][N]`` COCO RLE (or None = absent), SA-V style;
    * ``mask_paths`` + ``mask_layout='palette'``: one index PNG per frame,
      object ``i`` = pixels equal to ``instances_ids[i]`` (DAVIS);
    * ``mask_paths`` + ``mask_layout='per_object'``: ``[T][N]`` binary PNG
      paths (None = absent), SA-V val/test layout.

    Required keys: ``video_id``, ``frame_ids``, ``instances_ids``,
    ``ori_shape`` and the sources above. Added keys (all lists over the
    ``T`` frames): ``img``, ``img_path``, ``img_id``, ``frame_id``,
    ``ori_shape``, ``img_shape``, ``gt_masks`` (:class:`BitmapMasks`
    ``[N, H, W]``, same objects in every frame), ``gt_instances_ids``,
    ``gt_rles`` (original-resolution RLEs), ``video_id``, ``video_length``.
    Other keys are replicated per frame.

    Args:
        with_masks (bool): Load the object masks. Defaults to True.
        num_threads (int): decord decoding threads. Defaults to 1.
    """

    def __init__(self, with_masks: bool = True, num_threads: int = 1) -> None:
        self.with_masks = with_masks
        self.num_threads = num_threads

    def _load_frames(self,
                     results: dict) -> Tuple[List[np.ndarray], List[str]]:
        if results.get('frame_paths') is not None:
            paths = list(results['frame_paths'])
            return read_frame_files(paths), paths
        path = results['video_path']
        frames = read_video_frames(
            path, results['frame_ids'], num_threads=self.num_threads)
        return frames, [path] * len(frames)

    def _load_masks(
            self, results: dict,
            shape: Tuple[int,
                         int]) -> Tuple[List[np.ndarray], List[List[dict]]]:
        """Per frame: uint8 masks ``[N, H, W]`` and their RLEs."""
        ids = np.asarray(results['instances_ids'])
        num_frames = len(results['frame_ids'])
        masks, rles = [], []
        if results.get('frame_rles') is not None:
            for frame in results['frame_rles']:
                try:
                    m, r = _decode_frame(frame, shape)
                except ValueError as e:
                    raise ValueError(
                        f'video {results["video_id"]}: {e}') from e
                masks.append(m)
                rles.append(r)
            return masks, rles
        layout = results.get('mask_layout', 'palette')
        for t in range(num_frames):
            item = results['mask_paths'][t]
            if layout == 'palette':
                index = _read_index_png(item)
                self._check_shape(results, index.shape, item)
                m = (index[None] == ids[:, None, None]).astype(np.uint8)
            elif layout == 'per_object':
                m = np.zeros((len(ids), *shape), np.uint8)
                for i, p in enumerate(item):
                    if p is not None:
                        obj = _read_index_png(p)
                        self._check_shape(results, obj.shape, p)
                        m[i] = obj > 0
            else:
                raise ValueError(f'unknown mask_layout {layout!r}')
            masks.append(m)
            rles.append([encode_mask(x) for x in m])
        return masks, rles

    @staticmethod
    def _check_shape(results: dict, shape: Sequence[int], what: str) -> None:
        if tuple(shape[:2]) != tuple(results['ori_shape'][:2]):
            raise ValueError(f'video {results["video_id"]}: {what} has size '
                             f'{tuple(shape[:2])}, the annotation says '
                             f'{tuple(results["ori_shape"][:2])}')

    def transform(self, results: dict) -> dict:
        """Decode frames/masks and turn every field into per-frame lists."""
        frames, paths = self._load_frames(results)
        num_frames = len(frames)
        if num_frames != len(results['frame_ids']):
            raise ValueError(f'video {results["video_id"]}: decoded '
                             f'{num_frames} frames, expected '
                             f'{len(results["frame_ids"])}')
        for f, p in zip(frames, paths):
            self._check_shape(results, f.shape, p)
        shape = tuple(int(s) for s in results['ori_shape'][:2])
        ids = np.asarray(results['instances_ids'], dtype=np.int64)
        out = dict(
            img=frames,
            img_path=paths,
            frame_id=[int(i) for i in results['frame_ids']],
            img_id=[
                f'{results["video_id"]}/{int(i):05d}'
                for i in results['frame_ids']
            ],
            ori_shape=[shape] * num_frames,
            img_shape=[shape] * num_frames,
            gt_instances_ids=[ids.copy() for _ in range(num_frames)],
            video_id=[results['video_id']] * num_frames,
            video_length=[int(results.get('video_length', num_frames))] *
            num_frames)
        if self.with_masks:
            masks, rles = self._load_masks(results, shape)
            out['gt_masks'] = [BitmapMasks(m, *shape) for m in masks]
            out['gt_rles'] = rles
        consumed = ('frame_paths', 'video_path', 'frame_ids', 'frame_rles',
                    'mask_paths', 'mask_layout', 'instances_ids')
        for key, value in results.items():
            if key not in out and key not in consumed:
                out[key] = [value] * num_frames
        return out

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(with_masks={self.with_masks}, '
                f'num_threads={self.num_threads})')


@TRANSFORMS.register_module()
class PackVideoInputs(PackTrackInputs):
    """Pack a clip into ``inputs`` uint8 ``[T, 3, S, S]`` + TrackDataSample.

    Extends MMDetection's :class:`PackTrackInputs` (one ``DetDataSample`` per
    frame with ``gt_instances.masks`` / ``instances_ids``) with the esam3
    contract: per-frame ``img_shape`` is the shape after resize and *before*
    padding (mmcv's ``Pad`` overwrites it with the padded shape), per-frame
    ``pad_shape`` and ``gt_rles`` are kept, and the ``TrackDataSample``
    itself carries ``video_id`` and ``video_length``. Frames without
    objects still get empty ``masks`` / ``instances_ids``.

    Args:
        meta_keys (tuple[str], optional): Extra per-frame meta keys.
    """

    DEFAULT_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape',
                         'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                         'frame_id', 'video_id', 'video_length', 'gt_rles')

    def __init__(self, meta_keys: Optional[tuple] = None) -> None:
        super().__init__(
            meta_keys=meta_keys, default_meta_keys=self.DEFAULT_META_KEYS)

    @staticmethod
    def _unpadded_shape(ori_shape: Sequence[int], img_shape: Sequence[int],
                        scale_factor: Optional[Sequence[float]],
                        pad_shape: Optional[Sequence[int]]) -> Tuple[int, int]:
        """Image shape before padding, recovered after mmcv's ``Pad``.

        Kept as is when it differs from the padded shape (e.g. after
        :class:`PadBottomRight`); recomputed from ``ori_shape`` and
        ``scale_factor`` when mmcv's ``Pad`` overwrote it.
        """
        shape = tuple(int(s) for s in img_shape[:2])
        if (pad_shape is None or scale_factor is None
                or shape != tuple(int(s) for s in pad_shape[:2])):
            return shape
        h = min(int(ori_shape[0] * scale_factor[1] + 0.5), pad_shape[0])
        w = min(int(ori_shape[1] * scale_factor[0] + 0.5), pad_shape[1])
        return h, w

    def transform(self, results: dict) -> dict:
        """Pack per-frame lists into ``inputs`` and a TrackDataSample."""
        num = len(results['img'])
        pad = results.get('pad_shape', [None] * num)
        scale = results.get('scale_factor', [None] * num)
        results['img_shape'] = [
            self._unpadded_shape(o, s, f, p) for o, s, f, p in zip(
                results['ori_shape'], results['img_shape'], scale, pad)
        ]
        results['pad_shape'] = [
            tuple(int(x) for x in (p if p is not None else img.shape)[:2])
            for p, img in zip(pad, results['img'])
        ]
        packed = super().transform(results)
        packed['inputs'] = packed['inputs'].contiguous()
        track = packed['data_samples']
        for i, ds in enumerate(track.video_data_samples):
            inst = ds.gt_instances
            if 'masks' not in inst:
                h, w = results['img'][i].shape[:2]
                inst.masks = BitmapMasks(np.zeros((0, h, w), np.uint8), h, w)
            if 'instances_ids' in inst:
                inst.instances_ids = inst.instances_ids.long()
        track.set_metainfo(
            dict(
                video_id=results['video_id'][0],
                video_length=int(results['video_length'][0])))
        return packed
