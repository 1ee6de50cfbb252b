# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Lay the bundled samples out exactly as the official releases are laid out.

The shipped real-size configs (``configs/stage*/<student>.py``) read
``data/sa1b``, ``data/sav``, ``data/saco``, ``data/saco_video``,
``data/coco`` (and DAVIS users ``data/davis``) relative to the working
directory. This script writes such a ``data/`` tree under ``OUT`` from
``data/samples``, so that every command of the README's "Train on real data"
and "Evaluate" sections runs as written from ``OUT`` (with random weights
standing in for the gated SAM3 ones)::

    python tools/dataset_converters/make_real_layout_mirror.py /tmp/mirror
    cd /tmp/mirror && python $ESAM3/tools/train.py \
        $ESAM3/configs/stage1/repvit_m1_1.py ...

Layouts written (the names the configs expect)::

    data/sa1b/<stem>.jpg + <stem>.json              SA-1B, flat folder
    data/sav/sav_train/sav_000/sav_XXXXXX.mp4 + _manual.json
    data/sav/sav_val/JPEGImages_24fps/<video>/%05d.jpg   every frame
    data/sav/sav_val/Annotations_6fps/<video>/<obj>/%05d.png  every 4th
    data/sav/sav_val/sav_val.txt
    data/saco/annotations/train.json, gold_metaclip_merged_a_test.json,
        confusables.json; data/saco/images/, data/saco/images/metaclip/
    data/saco_video/annotations/train.json + JPEGImages/<video>/%05d.jpg
    data/coco/annotations/instances_{train,val}2017.json + train2017/,
        val2017/
    data/davis/JPEGImages/480p, Annotations/480p, ImageSets/2017/val.txt

Files are copied (not linked), so the mirror can be moved or packed.
"""
import argparse
import json
import os
import os.path as osp
import shutil
from typing import List

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SAMPLES = osp.join(REPO, 'data', 'samples')

#: The SA-Co/Gold file the shipped Stage 3 configs evaluate on.
SACO_GOLD = 'gold_metaclip_merged_a_test.json'


def _copy(src: str, dst: str) -> None:
    os.makedirs(osp.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)


def _write_json(obj: dict, path: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f)


def make_sa1b(out: str, samples: str = SAMPLES) -> List[str]:
    """Flat SA-1B folder: every bundled ``<stem>.jpg`` + ``<stem>.json``."""
    src = osp.join(samples, 'sa1b')
    stems = sorted(
        osp.splitext(f)[0] for f in os.listdir(src) if f.endswith('.json'))
    for stem in stems:
        for ext in ('.jpg', '.json'):
            _copy(osp.join(src, stem + ext), osp.join(out, 'sa1b', stem + ext))
    return stems


def make_coco(out: str, samples: str = SAMPLES) -> None:
    """COCO 2017 layout; the bundled sample serves as train and val."""
    src = osp.join(samples, 'coco')
    with open(osp.join(src, 'annotations', 'instances_val.json')) as f:
        coco = json.load(f)
    for split in ('train2017', 'val2017'):
        _write_json(
            coco,
            osp.join(out, 'coco', 'annotations', f'instances_{split}.json'))
        for img in coco['images']:
            _copy(
                osp.join(src, 'images', img['file_name']),
                osp.join(out, 'coco', split, img['file_name']))


def make_saco(out: str, samples: str = SAMPLES) -> None:
    """SA-Co image pairs: a training json and the SA-Co/Gold test file.

    Bundled file names are ``images/<name>``; in the release they are
    relative to the image folder the config names (``images/`` for training,
    ``images/metaclip/`` for Gold), so they are rewritten to ``<name>``.
    """
    src = osp.join(samples, 'saco')
    with open(osp.join(src, 'annotations.json')) as f:
        saco = json.load(f)
    names = sorted({img['file_name'] for img in saco['images']})
    for img in saco['images']:
        img['file_name'] = osp.basename(img['file_name'])
    ann_dir = osp.join(out, 'saco', 'annotations')
    _write_json(saco, osp.join(ann_dir, 'train.json'))
    _write_json(saco, osp.join(ann_dir, SACO_GOLD))
    _copy(
        osp.join(src, 'confusables.json'), osp.join(ann_dir,
                                                    'confusables.json'))
    for name in names:
        base = osp.basename(name)
        _copy(osp.join(src, name), osp.join(out, 'saco', 'images', base))
        _copy(
            osp.join(src, name),
            osp.join(out, 'saco', 'images', 'metaclip', base))


def make_davis(out: str, samples: str = SAMPLES) -> List[str]:
    """DAVIS 2017 layout (a copy of the bundled DAVIS-format clip)."""
    src = osp.join(samples, 'davis')
    dst = osp.join(out, 'davis')
    if osp.isdir(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    with open(osp.join(src, 'ImageSets', '2017', 'val.txt')) as f:
        return [line.strip() for line in f if line.strip()]


def make_saco_video(out: str, samples: str = SAMPLES) -> None:
    """SA-Co/VEval-format clips: ``annotations/train.json`` + frames."""
    with open(osp.join(samples, 'saco_video', 'annotations.json')) as f:
        veval = json.load(f)
    _write_json(veval, osp.join(out, 'saco_video', 'annotations',
                                'train.json'))
    frames = osp.join(samples, 'davis', 'JPEGImages', '480p')
    for video in veval['videos']:
        for name in video['file_names']:
            _copy(
                osp.join(frames, name),
                osp.join(out, 'saco_video', 'JPEGImages', name))


def make_sav(out: str, samples: str = SAMPLES) -> List[str]:
    """SA-V: ``sav_train/sav_000/`` (mp4 + json) and the ``sav_val`` frames.

    The bundled video serves both splits. For ``sav_val`` the mp4 is decoded
    to every frame (``JPEGImages_24fps``) and the masklets (every 4th frame)
    become one binary PNG per object and annotated frame
    (``Annotations_6fps/<video>/<obj:03d>/<frame:05d>.png``).
    """
    from esam3.datasets.video_io import read_video_frames
    src = osp.join(samples, 'sav')
    videos = sorted(f[:-4] for f in os.listdir(src) if f.endswith('.mp4'))
    train_dir = osp.join(out, 'sav', 'sav_train', 'sav_000')
    val_dir = osp.join(out, 'sav', 'sav_val')
    for vid in videos:
        for suffix in ('.mp4', '_manual.json'):
            _copy(
                osp.join(src, vid + suffix), osp.join(train_dir, vid + suffix))
        with open(osp.join(src, vid + '_manual.json')) as f:
            ann = json.load(f)
        frames = read_video_frames(osp.join(src, vid + '.mp4'), to_bgr=False)
        img_dir = osp.join(val_dir, 'JPEGImages_24fps', vid)
        os.makedirs(img_dir, exist_ok=True)
        for t, frame in enumerate(frames):  # RGB uint8
            Image.fromarray(frame).save(
                osp.join(img_dir, f'{t:05d}.jpg'), quality=95)
        stride = 4  # SA-V annotates every 4th frame (6 fps of 24 fps)
        for k, rles in enumerate(ann['masklet']):
            for obj, rle in enumerate(rles):
                mask = mask_utils.decode(rle).astype(np.uint8) * 255
                obj_dir = osp.join(val_dir, 'Annotations_6fps', vid,
                                   f'{obj:03d}')
                os.makedirs(obj_dir, exist_ok=True)
                Image.fromarray(mask).save(
                    osp.join(obj_dir, f'{k * stride:05d}.png'))
    with open(osp.join(val_dir, 'sav_val.txt'), 'w') as f:
        f.write('\n'.join(videos) + '\n')
    return videos


def make_mirror(out: str, samples: str = SAMPLES) -> str:
    """Write the whole ``OUT/data`` tree; return ``OUT``."""
    data = osp.join(out, 'data')
    make_sa1b(data, samples)
    make_coco(data, samples)
    make_saco(data, samples)
    make_davis(data, samples)
    make_saco_video(data, samples)
    make_sav(data, samples)
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='folder that receives data/...')
    parser.add_argument(
        '--samples',
        default=SAMPLES,
        help='bundled samples (default: data/samples)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    make_mirror(args.out, args.samples)
    print(f'real-layout mirror written to {osp.join(args.out, "data")}')


if __name__ == '__main__':
    main()
