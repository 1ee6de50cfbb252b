# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Track objects through a video from first-frame prompts; save overlays.

Examples::

    # one box on frame 0, student tracker, write an mp4
    python tools/demo/video_demo.py data/samples/sav/sav_000001.mp4 \\
        configs/stage2/tiny.py work_dirs/stage2/iter_300.pth \\
        --box 40,30,120,110 --out work_dirs/demo/track.mp4
    # DAVIS-style frame folder, objects from an index PNG, teacher, PNGs
    python tools/demo/video_demo.py \\
        data/samples/davis/JPEGImages/480p/carphone configs/stage2/tiny.py \\
        --teacher \\
        --mask-from data/samples/davis/Annotations/480p/carphone/00000.png \\
        --out work_dirs/demo/carphone/

Every ``--box`` is one object (ids 1, 2, ...); ``--points`` are the clicks
of one more object; ``--mask-from`` reads a mask image for ``--frame``:
each non-zero value (palette index) is one object.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import cv2
import numpy as np
import torch
from mmengine.config import DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='esam3 video demo')
    parser.add_argument('video', help='.mp4 file or frame folder')
    parser.add_argument('config', help='esam3 Stage 2 config')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        default=None,
        help='Stage 2 student checkpoint (strict)')
    parser.add_argument(
        '--box',
        nargs='+',
        default=[],
        metavar='X1,Y1,X2,Y2',
        help='one box per object')
    parser.add_argument(
        '--points',
        nargs='+',
        default=[],
        metavar='X,Y[:LABEL]',
        help='clicks of one object')
    parser.add_argument(
        '--mask-from',
        default=None,
        help='mask / palette PNG: one object per value')
    parser.add_argument(
        '--frame', type=int, default=0, help='frame the prompts refer to')
    parser.add_argument('--max-frames', type=int, default=None)
    parser.add_argument(
        '--out', required=True, help='output .mp4, or a folder for PNG frames')
    parser.add_argument(
        '--teacher',
        action='store_true',
        help="use the config's SAM3 video teacher")
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='torch seed before building the model')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='key=value overrides of the config')
    args = parser.parse_args(argv)
    if not (args.box or args.points or args.mask_from):
        parser.error('give --box, --points and/or --mask-from')
    return args


def read_mask_objects(path: str, shape) -> List[np.ndarray]:
    """One bool mask per non-zero value of a (palette) mask image."""
    from PIL import Image
    if not osp.isfile(path):
        raise FileNotFoundError(f'mask image not found: {path}')
    arr = np.asarray(Image.open(path))
    if arr.ndim == 3:  # RGB masks: any non-black colour is an object
        arr = arr[..., :3].astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
    if arr.shape[:2] != tuple(shape):
        raise ValueError(f'{path} is {arr.shape[1]}x{arr.shape[0]}, the '
                         f'video is {shape[1]}x{shape[0]}')
    return [arr == v for v in np.unique(arr) if v != 0]


class _Writer:
    """Frames -> mp4 (OpenCV) or numbered PNGs."""

    def __init__(self, out: str, fps: float) -> None:
        self.out, self.fps = out, fps
        self.video = None
        self.is_video = out.lower().endswith(('.mp4', '.avi'))
        os.makedirs(
            osp.dirname(osp.abspath(out)) if self.is_video else out,
            exist_ok=True)
        self.count = 0

    def write(self, frame_idx: int, rgb: np.ndarray) -> None:
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        if self.is_video:
            if self.video is None:
                fourcc = cv2.VideoWriter_fourcc(*'mp4v')
                self.video = cv2.VideoWriter(self.out, fourcc, self.fps,
                                             (bgr.shape[1], bgr.shape[0]))
            self.video.write(bgr)
        else:
            cv2.imwrite(osp.join(self.out, f'{frame_idx:05d}.png'), bgr)
        self.count += 1

    def close(self) -> None:
        if self.video is not None:
            self.video.release()


def run(args: argparse.Namespace) -> dict:
    """Prompt, propagate and write the overlays."""
    from mmengine.utils import ProgressBar

    import esam3  # noqa: F401
    from esam3.apis.demo_drawing import draw_overlay, parse_box, parse_point
    from esam3.apis.model_loading import load_config
    from esam3.apis.video_predictor import VideoPredictor
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    torch.manual_seed(args.seed)
    predictor = VideoPredictor.from_config(
        cfg, args.checkpoint, use_teacher=args.teacher, device=args.device)
    info = predictor.init_state(args.video)
    obj = 0
    for text in args.box:
        obj += 1
        predictor.add_prompt(args.frame, obj, box=parse_box(text))
    if args.points:
        clicks = [parse_point(p) for p in args.points]
        obj += 1
        predictor.add_prompt(
            args.frame,
            obj,
            points=[c[:2] for c in clicks],
            labels=[c[2] for c in clicks])
    if args.mask_from:
        for mask in read_mask_objects(args.mask_from,
                                      (info['height'], info['width'])):
            obj += 1
            predictor.add_prompt(args.frame, obj, mask=mask)
    writer = _Writer(args.out, info['fps'])
    total = min(info['num_frames'] - args.frame, args.max_frames
                or info['num_frames'])
    bar = ProgressBar(total)
    areas = []
    name = 'teacher' if args.teacher else 'student'
    try:
        for f, ids, masks in predictor.propagate(
                args.frame, max_frames=args.max_frames):
            rgb = predictor.frames[f][..., ::-1]
            drawn = draw_overlay(
                rgb, masks=masks, caption=f'esam3 {name} frame {f}')
            writer.write(f, drawn)
            areas.append(masks.reshape(len(ids), -1).mean(1))
            bar.update()
    finally:
        writer.close()
    sys.stdout.write('\n')
    return dict(
        num_frames=writer.count,
        obj_ids=predictor.obj_ids,
        areas=np.array(areas),
        out=args.out)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print(f'{result["num_frames"]} frame(s), objects {result["obj_ids"]} '
          f'-> {result["out"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
