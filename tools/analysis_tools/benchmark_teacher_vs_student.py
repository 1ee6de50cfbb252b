# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SAM3 vision trunk vs an esam3 student trunk: CPU latency in one run.

Both encoders take one normalised 1008 px image and return the SAM3 trunk
map (``[1, 1024, 72, 72]``; SAM3's neck and heads follow either one
unchanged). The teacher is the real-size SAM3 ViT architecture
(``Sam3ViTConfig()`` defaults) with random weights, which costs the same
as the trained one. The student is :class:`StudentTrunk` (timm backbone +
``Sam3AlignHead`` in trunk mode) from ``configs/_base_/models/students``.

Example::

    python tools/analysis_tools/benchmark_teacher_vs_student.py \\
        --student repvit_m1_1 --teacher-runs 1 --student-runs 5
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import time
from typing import Dict, List, Optional

import torch

import esam3  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE, GRID, CHANNELS = 1008, 72, 1024


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--student',
        default='repvit_m1_1',
        help='file name in configs/_base_/models/students')
    parser.add_argument('--teacher-runs', type=int, default=1)
    parser.add_argument('--student-runs', type=int, default=5)
    parser.add_argument(
        '--no-reparameterize',
        action='store_true',
        help='time the training form of the student (by '
        'default RepViT-style branches are fused with '
        'timm.utils.reparameterize_model, the deployment '
        'form)')
    parser.add_argument(
        '--no-channels-last',
        action='store_true',
        help='keep the student in NCHW (default: '
        'channels_last, the faster layout for CPU convs)')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--json', default=None)
    return parser.parse_args(argv)


def build_student(name: str, reparameterize: bool = True) -> torch.nn.Module:
    from mmengine.config import Config

    from esam3.registry import MODELS
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'models', 'students',
                 f'{name}.py'))
    trunk = dict(
        type='StudentTrunk',
        backbone=cfg.student_backbone,
        neck=dict(
            type='Sam3AlignHead',
            mode='trunk',
            out_channels=CHANNELS,
            out_size=(GRID, GRID)))
    student = MODELS.build(trunk).eval()
    if reparameterize:
        from timm.utils import reparameterize_model
        student = reparameterize_model(student)
    return student


def build_teacher(device: str = 'cpu') -> torch.nn.Module:
    from transformers import Sam3ViTConfig, Sam3ViTModel
    with torch.device(device):
        return Sam3ViTModel(Sam3ViTConfig()).eval()


def count_gflops(fn, x: torch.Tensor) -> float:
    """FLOPs of one forward (``torch.utils.flop_counter``, 2 per MAC)."""
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(x)
    return counter.get_total_flops() / 1e9


def timed(fn, x: torch.Tensor, runs: int, warmup: int) -> Dict:
    """Wall time and process CPU time (all threads) per run.

    On a machine shared with other jobs the CPU time is the steadier of the
    two.
    """
    wall, cpu = [], []
    with torch.no_grad():
        for i in range(warmup + runs):
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn(x)
            if i >= warmup:
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
    wall.sort()
    cpu.sort()
    return dict(
        runs=runs,
        warmup=warmup,
        median_s=wall[len(wall) // 2],
        min_s=wall[0],
        times_s=wall,
        cpu_median_s=cpu[len(cpu) // 2],
        cpu_times_s=cpu,
        out_shape=list(out.shape))


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(1, 3, SIZE, SIZE)
    student = build_student(args.student, not args.no_reparameterize)
    x_s = x
    if not args.no_channels_last:
        student = student.to(memory_format=torch.channels_last)
        x_s = x.contiguous(memory_format=torch.channels_last)
    # FLOPs: the student on real tensors, the teacher on the meta device
    s_gflops = count_gflops(student, x_s)
    t_gflops = count_gflops(lambda im: build_teacher('meta')(im), x.to('meta'))
    teacher = build_teacher()
    s_params = sum(p.numel() for p in student.parameters()) / 1e6
    t_params = sum(p.numel() for p in teacher.parameters()) / 1e6
    res_s = timed(student, x_s, args.student_runs, warmup=1)
    res_t = timed(
        lambda im: teacher(im).last_hidden_state,
        x,
        args.teacher_runs,
        warmup=0)
    if res_s['out_shape'] != [1, CHANNELS, GRID, GRID] or \
            res_t['out_shape'] != [1, GRID * GRID, CHANNELS]:
        raise RuntimeError(f'unexpected outputs {res_s["out_shape"]} / '
                           f'{res_t["out_shape"]}')
    ratio = res_t['median_s'] / res_s['median_s']
    cpu_ratio = res_t['cpu_median_s'] / res_s['cpu_median_s']
    result = dict(
        machine=dict(
            platform=platform.platform(),
            cpu_count=os.cpu_count(),
            torch_threads=torch.get_num_threads(),
            torch=torch.__version__),
        input=[1, 3, SIZE, SIZE],
        teacher=dict(
            name='SAM3 ViT (Sam3ViTConfig(), random weights)',
            params_m=t_params,
            gflops=t_gflops,
            **res_t),
        student=dict(
            name=f'StudentTrunk({args.student}) + Sam3AlignHead',
            reparameterized=not args.no_reparameterize,
            channels_last=not args.no_channels_last,
            params_m=s_params,
            gflops=s_gflops,
            **res_s),
        latency_ratio=ratio,
        cpu_time_ratio=cpu_ratio,
        flop_ratio=t_gflops / s_gflops)
    print(f'machine: {result["machine"]}')
    print(f'teacher  {t_params:7.1f}M params {t_gflops:7.0f} GFLOPs: '
          f'{res_t["median_s"]:8.3f} s '
          f'wall, {res_t["cpu_median_s"]:8.3f} s CPU (median of '
          f'{args.teacher_runs})')
    print(f'student  {s_params:7.1f}M params {s_gflops:7.1f} GFLOPs: '
          f'{res_s["median_s"]:8.3f} s '
          f'wall, {res_s["cpu_median_s"]:8.3f} s CPU (median of '
          f'{args.student_runs}, 1 warm-up)')
    print(f'latency ratio teacher/student: {ratio:.1f}x wall, '
          f'{cpu_ratio:.1f}x CPU time, {t_gflops / s_gflops:.1f}x FLOPs '
          '(target >= 50x)')
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main(sys.argv[1:])
