# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Segment an image with points / boxes / a noun phrase and save an overlay.

Examples::

    # box + a refining click on one object, tiny teacher
    python tools/demo/image_demo.py data/samples/sa1b/astronaut.jpg \\
        configs/stage1/tiny.py --teacher --boxes 154,17,300,189 \\
        --points 230,100:1 --out docs/images/demo_box_point.png
    # a trained student: several boxes, then a text prompt
    python tools/demo/image_demo.py IMG configs/stage1/repvit_m1_1.py CKPT \\
        --boxes 10,10,200,200 50,60,300,320 --out out.png
    python tools/demo/image_demo.py IMG configs/stage3/tiny.py CKPT \\
        --text "cat" --out cat.png

Prompt rules: every ``--boxes`` entry is one object. The ``--points`` are
the clicks of ONE object: with a single box they refine that box's
object, otherwise they form their own object. ``--text`` adds every
instance of the phrase (concept prompt). Each object shows its
highest-scoring candidate mask.
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
    parser = argparse.ArgumentParser(
        description='esam3 image demo (points / boxes / text prompts)')
    parser.add_argument('image', help='image file')
    parser.add_argument('config', help='esam3 config (Stage 1 or 3)')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        default=None,
        help='student checkpoint (strictly loaded)')
    parser.add_argument(
        '--points',
        nargs='+',
        default=[],
        metavar='X,Y[:LABEL]',
        help='clicks of one object (label 1 fg, 0 bg)')
    parser.add_argument(
        '--boxes',
        nargs='+',
        default=[],
        metavar='X1,Y1,X2,Y2',
        help='one box per object')
    parser.add_argument(
        '--text', default=None, help='noun phrase: segment all its instances')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.5,
        help='score threshold of text-prompt instances')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument(
        '--teacher', action='store_true', help="use the config's SAM3 teacher")
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='torch seed before building the model (makes '
        'randomly initialised test models reproducible)')
    parser.add_argument(
        '--caption',
        default=None,
        help='text drawn on the picture (default: model + '
        'prompts)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='key=value overrides of the config')
    args = parser.parse_args(argv)
    if not (args.points or args.boxes or args.text):
        parser.error('give --points, --boxes and/or --text')
    return args


def run(args: argparse.Namespace) -> dict:
    """Predict and draw; returns the drawing and the predictions."""
    import esam3  # noqa: F401  (registries, mmcv shim)
    from esam3.apis import ImagePredictor, load_image
    from esam3.apis.demo_drawing import (best_masks, draw_overlay, parse_box,
                                         parse_point)
    from esam3.apis.model_loading import load_config
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    torch.manual_seed(args.seed)
    predictor = ImagePredictor.from_config(
        cfg, args.checkpoint, use_teacher=args.teacher, device=args.device)
    predictor.set_image(args.image, channel_order='bgr')
    clicks = [parse_point(p) for p in args.points]
    boxes = [parse_box(b) for b in args.boxes]
    masks, scores, draw_boxes = [], [], []
    pts = np.array([c[:2] for c in clicks], np.float32).reshape(-1, 2)
    lbl = np.array([c[2] for c in clicks], np.int64)
    if len(boxes) == 1 and clicks:
        res = predictor.predict(
            points=pts, labels=lbl, boxes=boxes, multimask_output=False)
        groups = [(res, boxes)]
    else:
        groups = []
        if boxes:
            groups.append(
                (predictor.predict(boxes=boxes,
                                   multimask_output=False), boxes))
        if clicks:
            # one click is ambiguous: let SAM propose 3 masks, keep the best
            groups.append((predictor.predict(
                points=pts, labels=lbl,
                multimask_output=len(clicks) == 1), [None]))
    for res, bxs in groups:
        m, s = best_masks(res)
        masks.extend(m)
        scores.extend(s)
        draw_boxes.extend(bxs)
    if args.text:
        res = predictor.predict_concept(
            text=args.text, score_thr=args.score_thr)
        masks.extend(res['masks'])
        scores.extend(res['scores'])
        draw_boxes.extend(res['boxes'])
    image = load_image(args.image, 'bgr')[..., ::-1]
    h, w = image.shape[:2]
    box_arr = np.array(
        [b if b is not None else [np.nan] * 4 for b in draw_boxes],
        np.float32).reshape(-1, 4)
    keep = ~np.isnan(box_arr).any(1)
    mask_arr = np.array(masks, bool).reshape(-1, h, w)
    # boxes share the palette colour of their mask: draw box-less objects
    # (clicks) after the boxed ones so the indices stay aligned
    order = np.concatenate([np.nonzero(keep)[0], np.nonzero(~keep)[0]])
    model_name = 'teacher' if args.teacher else (
        'student' if args.checkpoint else 'student (random init)')
    caption = args.caption or f'esam3 {osp.basename(args.config)} ' \
        f'{model_name}'
    drawn = draw_overlay(
        image,
        masks=mask_arr[order] if len(order) else None,
        boxes=box_arr[keep] if keep.any() else None,
        points=pts if len(pts) else None,
        point_labels=lbl if len(lbl) else None,
        caption=caption)
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    if not cv2.imwrite(args.out, np.ascontiguousarray(drawn[..., ::-1])):
        raise OSError(f'cannot write {args.out}')
    return dict(image=drawn, masks=mask_arr, scores=np.array(scores))


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print(f'{len(result["masks"])} object(s), scores '
          f'{np.round(result["scores"], 3).tolist()} -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
