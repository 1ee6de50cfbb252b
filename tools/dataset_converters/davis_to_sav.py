# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Convert DAVIS-style videos (JPEG frames + palette PNGs) to SA-V layout.

Every video becomes ``<out>/<video>.mp4`` (mp4v, ``--fps``) and
``<out>/<video>_manual.json`` with the masklets of every ``--stride``-th
frame (SA-V: 4, i.e. 6 fps annotations of a 24 fps video), so that
:class:`esam3.datasets.SAVDataset` can train on DAVIS / YouTube-VOS style
data. Objects are the palette indices found in the video (0 = background and
255 = void are dropped); masklet id = palette index. Frames are re-encoded
(lossy), masks are copied exactly.

Usage::

    python tools/dataset_converters/davis_to_sav.py data/DAVIS data/davis_sav \
        --split ImageSets/2017/train.txt --resolution 480p
"""
import argparse
import json
import math
import os
import os.path as osp
from typing import List, Optional

import cv2
import numpy as np
from PIL import Image

from esam3.datasets.utils import encode_mask
from esam3.datasets.video_io import (list_frame_files, probe_video,
                                     read_frame_files)


def convert_video(img_dir: str,
                  ann_dir: str,
                  out_dir: str,
                  name: str,
                  stride: int = 4,
                  fps: int = 24) -> dict:
    """Write ``<name>.mp4`` and ``<name>_manual.json``; return the json."""
    files = list_frame_files(img_dir)
    frames = read_frame_files([osp.join(img_dir, f) for f in files])
    h, w = frames[0].shape[:2]
    annotated = list(range(0, len(frames), stride))
    index_maps = []
    for t in annotated:
        path = osp.join(ann_dir, osp.splitext(files[t])[0] + '.png')
        if not osp.isfile(path):
            raise FileNotFoundError(f'{name}: missing mask {path}')
        index = np.asarray(Image.open(path))
        if index.shape[:2] != (h, w):
            raise ValueError(f'{name}: mask {path} is {index.shape[:2]}, '
                             f'frames are {(h, w)}')
        index_maps.append(index)
    obj_ids = sorted(set(np.unique(np.stack(index_maps)).tolist()) - {0, 255})
    masks = np.stack([np.stack([m == o for o in obj_ids])
                      for m in index_maps]) if obj_ids else np.zeros(
                          (len(annotated), 0, h, w))
    os.makedirs(out_dir, exist_ok=True)
    video = osp.join(out_dir, f'{name}.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    if probe_video(video)['num_frames'] != len(frames):
        raise RuntimeError(f'{video}: frame count changed when encoding')
    areas = masks.reshape(len(annotated), len(obj_ids), -1).sum(-1)
    visible = areas > 0
    ann = dict(
        video_id=name,
        video_duration=len(frames) / fps,
        video_frame_count=float(len(frames)),
        video_height=float(h),
        video_width=float(w),
        video_resolution=float(h * w),
        video_split='train',
        masklet=[[encode_mask(m) for m in frame] for frame in masks],
        masklet_id=obj_ids,
        masklet_size_abs=[
            float(areas[visible[:, o], o].mean()) if visible[:,
                                                             o].any() else 0.0
            for o in range(len(obj_ids))
        ],
        masklet_first_appeared_frame=[
            int(np.argmax(visible[:, o])) for o in range(len(obj_ids))
        ],
        masklet_frame_count=[len(annotated)] * len(obj_ids),
        masklet_type=['manual'] * len(obj_ids),
        masklet_num=len(obj_ids),
    )
    assert len(ann['masklet']) == math.ceil(len(frames) / stride)
    with open(osp.join(out_dir, f'{name}_manual.json'), 'w') as f:
        json.dump(ann, f)
    return ann


def convert(root: str,
            out_dir: str,
            split: Optional[str] = None,
            resolution: str = '480p',
            stride: int = 4,
            fps: int = 24) -> List[str]:
    """Convert every video of ``split`` (or of the image folder)."""
    img_root = osp.join(root, 'JPEGImages', resolution)
    ann_root = osp.join(root, 'Annotations', resolution)
    if split:
        with open(osp.join(root, split)) as f:
            names = [n.strip() for n in f if n.strip()]
    else:
        names = sorted(os.listdir(img_root))
    for name in names:
        convert_video(
            osp.join(img_root, name), osp.join(ann_root, name), out_dir, name,
            stride, fps)
    return names


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='DAVIS root (JPEGImages/, Annotations/)')
    parser.add_argument('out_dir', help='output folder (SA-V layout)')
    parser.add_argument(
        '--split',
        default=None,
        help='video list relative to root, e.g. '
        'ImageSets/2017/train.txt')
    parser.add_argument('--resolution', default='480p')
    parser.add_argument('--stride', type=int, default=4)
    parser.add_argument('--fps', type=int, default=24)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    names = convert(args.root, args.out_dir, args.split, args.resolution,
                    args.stride, args.fps)
    print(f'converted {len(names)} video(s) to {args.out_dir}')


if __name__ == '__main__':
    main()
