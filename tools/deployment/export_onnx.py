# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Export an esam3 model to ONNX, one graph per part, check it against PyTorch
and optionally quantize it to int8.

Parts: ``encoder``, ``prompt_decoder``, ``text_encoder``,
``concept_decoder``, ``tracker_step`` (default: all the model has; see
docs/deployment.md).

Examples::

    # every part of the tiny Stage 3 student, parity on the bundled data
    python tools/deployment/export_onnx.py configs/stage3/tiny.py \\
        work_dirs/tiny3/iter_100.pth --out work_dirs/onnx_tiny --check
    # box prompts only, plus an int8 copy in work_dirs/onnx_box/int8
    python tools/deployment/export_onnx.py configs/stage1/tiny.py CKPT \\
        --out work_dirs/onnx_box --parts encoder prompt_decoder \\
        --quantize int8
"""
import argparse
import glob
import os.path as osp
import sys
import time
import warnings

import torch
from mmengine.config import DictAction

DEFAULT_IMAGES = 'data/samples/sa1b/*.jpg'
DEFAULT_CLIP = 'data/samples/davis/JPEGImages/480p/carphone'
PARTS = ('encoder', 'prompt_decoder', 'text_encoder', 'concept_decoder',
         'tracker_step')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export esam3 parts to ONNX (one graph per part), run '
        'onnx.checker, an onnxruntime parity check and int8 quantization')
    parser.add_argument('config', help='esam3 config (Stage 1/2/3)')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        default=None,
        help='student checkpoint (strictly loaded); omit for random weights '
        '(smoke tests only, a warning is printed) or with --teacher')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--parts',
        nargs='+',
        choices=PARTS,
        default=None,
        help='parts to export (default: all the model has; the encoder is '
        'always exported)')
    parser.add_argument(
        '--teacher', action='store_true', help="export the config's teacher")
    parser.add_argument(
        '--img-size',
        type=int,
        default=None,
        help='input size (default and only supported value with SAM3 '
        'heads: the model\'s)')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument(
        '--check',
        action='store_true',
        help='onnxruntime vs PyTorch parity table per part on the bundled '
        'images / clip; exit 1 above --tol')
    parser.add_argument(
        '--images',
        default=DEFAULT_IMAGES,
        help='glob of parity / calibration images (default: the bundled '
        'SA-1B samples)')
    parser.add_argument(
        '--clip',
        default=DEFAULT_CLIP,
        help='frame folder for the tracker parity (default: the bundled '
        'DAVIS clip)')
    parser.add_argument(
        '--num-images',
        type=int,
        default=None,
        help='use only the first N parity images')
    parser.add_argument(
        '--num-frames',
        type=int,
        default=8,
        help='frames of the clip looped through the tracker graphs')
    parser.add_argument(
        '--tol', type=float, default=1e-3, help='max abs difference allowed')
    parser.add_argument(
        '--quantize',
        choices=['int8'],
        default=None,
        help='also write an int8 copy to OUT/int8 (onnxruntime.quantization)')
    parser.add_argument(
        '--quant-mode',
        choices=['dynamic', 'static'],
        default='dynamic',
        help='int8 mode: dynamic (all graphs) or static (encoder calibrated '
        'on --images, other graphs dynamic)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='key=value overrides of the config')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import esam3  # noqa: F401  (registries, mmcv shim)
    from esam3.apis.model_loading import build_inference_model, load_config
    from esam3.deploy import export_model, parity_table
    from esam3.deploy.image_encoder_onnx import video_tracker_of
    from esam3.deploy.onnx_export import model_image_size
    from esam3.deploy.onnx_parity import (check_concept_parity,
                                          check_image_parity,
                                          check_tracker_parity)
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.checkpoint is None and not args.teacher:
        warnings.warn(
            'no checkpoint: exporting RANDOM student weights (for smoke '
            'tests only; pass a trained checkpoint for a usable model)')
        print('WARNING: no checkpoint, random weights', file=sys.stderr)
    model, cfg = build_inference_model(cfg, args.checkpoint, args.teacher)
    size = model_image_size(model)
    if args.img_size is not None and args.img_size != size:
        print(
            f'--img-size {args.img_size} differs from the model input size '
            f'{size}: the SAM3 heads are tied to {size}',
            file=sys.stderr)
        return 2
    pre = cfg.model.get('data_preprocessor', {}) or {}
    tok = cfg.model.get('tokenizer', None)
    start = time.perf_counter()
    try:
        files = export_model(
            model,
            args.out,
            size,
            pre.get('mean', [127.5] * 3),
            pre.get('std', [127.5] * 3),
            args.opset,
            resize_mode=pre.get('resize_mode', 'square'),
            parts=args.parts,
            tokenizer=dict(tok) if tok else None)
    except ValueError as err:
        print(f'export failed: {err}', file=sys.stderr)
        return 2
    print(f'exported in {time.perf_counter() - start:.1f} s '
          '(onnx.checker passed):')
    for name, path in files.items():
        print(f'  {name:26s} {path}')
    images = sorted(glob.glob(args.images))[:args.num_images]
    if args.quantize:
        from esam3.deploy.onnx_quantize import quantize_export
        qdir = osp.join(args.out, args.quantize)
        start = time.perf_counter()
        quantize_export(args.out, qdir, args.quant_mode, images)
        print(f'{args.quantize} ({args.quant_mode}) copy in {qdir} '
              f'({time.perf_counter() - start:.1f} s)')
    if not args.check:
        return 0
    if not images:
        print(f'no parity images match {args.images}', file=sys.stderr)
        return 2
    rows = check_image_parity(model, args.out, images, args.tol)
    if 'concept_decoder' in files:
        from esam3.registry import MODELS
        tokenizer = MODELS.build(
            dict(tok) if tok else dict(type='Sam3Tokenizer'))
        rows += check_concept_parity(
            model, args.out, images, tokenizer, tol=args.tol)
    if 'tracker_step' in files and video_tracker_of(model) is not None:
        frames = sorted(
            glob.glob(osp.join(args.clip, '*.jpg')) +
            glob.glob(osp.join(args.clip, '*.png')))[:args.num_frames]
        if not frames:
            print(f'no frames in {args.clip}', file=sys.stderr)
            return 2
        rows += check_tracker_parity(model, args.out, frames, args.tol)
    print(parity_table(rows, args.tol))
    bad = [r for r in rows if not r['ok']]
    print(f'parity: {len(rows) - len(bad)}/{len(rows)} within {args.tol:g} '
          f'({len(images)} image(s) from {osp.dirname(args.images)}' +
          (f', {args.num_frames} frames of {args.clip}' if 'tracker_step' in
           files else '') + ')')
    return 1 if bad else 0


if __name__ == '__main__':
    torch.set_grad_enabled(False)
    sys.exit(main())
