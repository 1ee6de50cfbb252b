# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Export an esam3 model to ONNX and check it against PyTorch.

Examples::

    # tiny student (random or trained) -> work_dirs/onnx_tiny, with parity
    python tools/deployment/export_onnx.py configs/stage1/tiny.py \\
        work_dirs/tiny/iter_300.pth --out work_dirs/onnx_tiny --check
    # the config's teacher instead of the student
    python tools/deployment/export_onnx.py configs/stage1/tiny.py \\
        --teacher --out work_dirs/onnx_tiny_teacher --check
"""
import argparse
import glob
import os.path as osp
import sys
import time

import torch
from mmengine.config import DictAction

DEFAULT_IMAGES = 'data/samples/sa1b/*.jpg'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export encoder / prompt decoder / Perceiver graphs to '
        'ONNX, run onnx.checker and an onnxruntime parity check')
    parser.add_argument('config', help='esam3 config (Stage 1/2/3)')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        default=None,
        help='student checkpoint (strictly loaded); omit '
        'for random weights or with --teacher')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--teacher', action='store_true', help="export the config's teacher")
    parser.add_argument(
        '--img-size',
        type=int,
        default=None,
        help='input size (default and only supported value '
        'for the prompt decoder: the model\'s SAM3 size)')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument(
        '--check',
        action='store_true',
        help='onnxruntime vs PyTorch parity on images')
    parser.add_argument(
        '--images',
        default=DEFAULT_IMAGES,
        help='glob of parity images (default: the bundled '
        'SA-1B samples)')
    parser.add_argument(
        '--num-images',
        type=int,
        default=None,
        help='use only the first N parity images')
    parser.add_argument(
        '--tol', type=float, default=1e-3, help='max abs difference allowed')
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
    from esam3.deploy import (check_image_parity, check_perceiver_parity,
                              export_model, parity_table)
    from esam3.deploy.onnx_export import model_image_size
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model, cfg = build_inference_model(cfg, args.checkpoint, args.teacher)
    size = model_image_size(model)
    if args.img_size is not None and args.img_size != size and \
            hasattr(getattr(model, 'heads', None), 'tracker'):
        print(
            f'--img-size {args.img_size} differs from the model input size '
            f'{size}: the SAM3 prompt decoder is tied to {size}',
            file=sys.stderr)
        return 2
    pre = cfg.model.get('data_preprocessor', {}) or {}
    mean = pre.get('mean', [127.5] * 3)
    std = pre.get('std', [127.5] * 3)
    start = time.perf_counter()
    files = export_model(
        model,
        args.out,
        args.img_size or size,
        mean,
        std,
        args.opset,
        resize_mode=pre.get('resize_mode', 'square'))
    print(f'exported in {time.perf_counter() - start:.1f} s '
          '(onnx.checker passed):')
    for name, path in files.items():
        print(f'  {name:22s} {path}')
    if not args.check:
        return 0
    images = sorted(glob.glob(args.images))[:args.num_images]
    if not images:
        print(f'no parity images match {args.images}', file=sys.stderr)
        return 2
    rows = check_image_parity(model, args.out, images, args.tol)
    if 'memory_perceiver' in files:
        bank = model.memory_bank
        from esam3.deploy import load_manifest
        rows += check_perceiver_parity(
            bank.perceiver,
            files['memory_perceiver'],
            load_manifest(args.out)['memory_map_size'],
            tol=args.tol)
    print(parity_table(rows, args.tol))
    bad = [r for r in rows if not r['ok']]
    print(f'parity: {len(rows) - len(bad)}/{len(rows)} within {args.tol:g}'
          f' on {len(images)} image(s) from {osp.dirname(args.images)}')
    return 1 if bad else 0


if __name__ == '__main__':
    torch.set_grad_enabled(False)
    sys.exit(main())
