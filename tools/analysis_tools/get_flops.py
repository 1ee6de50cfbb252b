# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Parameters and FLOPs of a student encoder (timm backbone + align head).

FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` (matmul,
conv and scaled-dot-product attention; one multiply-add = 2 FLOPs;
normalisation, activations and interpolation are not counted). Papers that
quote fvcore "FLOPs" (e.g. EdgeSAM's 22.1 GFLOPs) count multiply-adds: compare
those with the GMACs column.

Example::

    python tools/analysis_tools/get_flops.py repvit_m1_1 --size 1008
    python tools/analysis_tools/get_flops.py \\
        configs/_base_/models/students/tinyvit_5m.py --size 1024
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT_DIR = osp.join(ROOT, 'configs', '_base_', 'models', 'students')
PATCH = 14  # SAM3 patch size: trunk grid = input size / 14


def student_config_path(student: str) -> str:
    """Resolve a student name (file stem in ``STUDENT_DIR``) or config path.

    Args:
        student: e.g. ``'repvit_m1_1'`` or a path to a ``.py`` config
            defining ``student_backbone``.

    Returns:
        str: path of the config file.
    """
    if osp.isfile(student):
        return student
    path = osp.join(STUDENT_DIR, f'{student}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'no student config {student!r} (looked for '
                                f'{path})')
    return path


def build_student_trunk(student: str,
                        out_channels: int = 1024,
                        mode: str = 'trunk') -> nn.Module:
    """Build ``StudentTrunk`` = the student backbone + ``Sam3AlignHead``.

    Args:
        student: student name or config path (see
            :func:`student_config_path`).
        out_channels: trunk channels (1024: SAM3).
        mode: alignment head mode, ``'trunk'`` or ``'fpn'``.

    Returns:
        nn.Module: the trunk in eval mode; the head's output grid follows
        the input size (``size // 14``).
    """
    import esam3  # noqa: F401  (registers the modules)
    from esam3.registry import MODELS
    cfg = Config.fromfile(student_config_path(student))
    trunk = MODELS.build(
        dict(
            type='StudentTrunk',
            backbone=cfg.student_backbone,
            neck=dict(
                type='Sam3AlignHead', mode=mode, out_channels=out_channels),
            patch_size=PATCH))
    return trunk.eval()


def count_params(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def count_flops(module: nn.Module, size: int) -> int:
    """FLOPs of one forward pass on a ``[1, 3, size, size]`` image."""
    x = torch.zeros(1, 3, size, size)
    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops()


def measure(student: str,
            size: int = 1008,
            out_channels: int = 1024) -> Dict[str, float]:
    """Parameter counts (M) and GFLOPs / GMACs of a student encoder.

    Args:
        student: student name or config path.
        size: square input size in pixels.
        out_channels: trunk channels of the alignment head.

    Returns:
        dict: ``params_backbone_m``, ``params_head_m``, ``params_m``,
        ``gflops``, ``gmacs``, ``gflops_backbone``, ``size``.
    """
    trunk = build_student_trunk(student, out_channels)
    flops = count_flops(trunk, size)
    flops_backbone = count_flops(trunk.backbone, size)
    return dict(
        student=student,
        size=size,
        params_backbone_m=count_params(trunk.backbone) / 1e6,
        params_head_m=count_params(trunk.neck) / 1e6,
        params_m=count_params(trunk) / 1e6,
        gflops=flops / 1e9,
        gmacs=flops / 2e9,
        gflops_backbone=flops_backbone / 1e9)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Params and FLOPs of a student encoder')
    parser.add_argument(
        'student',
        help='student name (file in '
        'configs/_base_/models/students) or config path')
    parser.add_argument(
        '--size',
        type=int,
        default=1008,
        help='square input size (default 1008 = SAM3)')
    parser.add_argument(
        '--out-channels',
        type=int,
        default=1024,
        help='trunk channels of the alignment head')
    parser.add_argument('--threads', type=int, default=None)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    res = measure(args.student, args.size, args.out_channels)
    print(f"student        : {res['student']}\n"
          f'input          : {args.size}x{args.size} '
          f'(trunk grid {args.size // PATCH}x{args.size // PATCH})\n'
          f"params (M)     : {res['params_m']:.2f} (backbone "
          f"{res['params_backbone_m']:.2f} + head "
          f"{res['params_head_m']:.2f})\n"
          f"GFLOPs         : {res['gflops']:.2f} (backbone "
          f"{res['gflops_backbone']:.2f})\n"
          f"GMACs          : {res['gmacs']:.2f}")
    return res


if __name__ == '__main__':
    main()
