# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Benchmark table of the student encoders (timm backbone + align head).

For every config in ``configs/_base_/models/students`` (a new backbone file
shows up automatically): parameters, FLOPs and CPU latency (median of
``--repeats`` runs after ``--warmup`` runs, batch 1, random weights, eval
mode, ``torch.no_grad``) of the full student encoder, i.e. the backbone and
the trunk-mode ``Sam3AlignHead`` producing the SAM3 trunk map
``[1, 1024, S/14, S/14]``. FLOPs as in ``get_flops.py`` (2 per multiply-add).

Example::

    python tools/analysis_tools/model_zoo.py --sizes 1008 1024 \\
        --repeats 3 --threads 2 --json work_dirs/model_zoo.json
    python tools/analysis_tools/model_zoo.py --models repvit tinyvit_5m \\
        --sizes 1008 --repeats 1
"""
import argparse
import glob
import json
import os
import os.path as osp
import platform
import statistics
import sys
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from terminaltables import AsciiTable

# isort: off
# yapf: disable
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from get_flops import STUDENT_DIR, build_student_trunk  # noqa: E402
from get_flops import count_flops, count_params  # noqa: E402
# yapf: enable
# isort: on

# display names of the nine students, in table order
ZOO_NAMES = {
    'repvit_m0_9': 'RepViT-S',
    'repvit_m1_1': 'RepViT-M',
    'repvit_m2_3': 'RepViT-L',
    'tinyvit_5m': 'TinyViT-S',
    'tinyvit_11m': 'TinyViT-M',
    'tinyvit_21m': 'TinyViT-L',
    'efficientvit_b0': 'EffViT-S',
    'efficientvit_b1': 'EffViT-M',
    'efficientvit_b2': 'EffViT-L'
}


def list_students(filters: Optional[List[str]] = None) -> List[Dict]:
    """Student configs, filtered by case-insensitive substrings.

    Args:
        filters: keep a student when any filter occurs in its file stem,
            timm model name or zoo name; ``None`` keeps all.

    Returns:
        list[dict]: ``stem``, ``zoo_name``, ``timm_model`` per student.
    """
    order = list(ZOO_NAMES)
    stems = sorted((osp.splitext(osp.basename(p))[0]
                    for p in glob.glob(osp.join(STUDENT_DIR, '*.py'))),
                   key=lambda s: (order.index(s)
                                  if s in order else len(order), s))
    students = []
    for stem in stems:
        cfg = Config.fromfile(osp.join(STUDENT_DIR, f'{stem}.py'))
        info = dict(
            stem=stem,
            zoo_name=ZOO_NAMES.get(stem, stem),
            timm_model=cfg.student_backbone.get('model_name', '?'))
        text = ' '.join(info.values()).lower()
        if not filters or any(f.lower() in text for f in filters):
            students.append(info)
    return students


@torch.no_grad()
def latency_ms(module: torch.nn.Module, size: int, repeats: int,
               warmup: int) -> float:
    """Median wall-clock milliseconds of one batch-1 forward pass."""
    x = torch.randn(1, 3, size, size)
    for _ in range(warmup):
        module(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        module(x)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def benchmark(student: Dict, sizes: List[int], repeats: int, warmup: int,
              out_channels: int) -> Dict:
    """Params, FLOPs and latency of one student at every size."""
    trunk = build_student_trunk(student['stem'], out_channels)
    row = dict(
        student,
        params_backbone_m=count_params(trunk.backbone) / 1e6,
        params_m=count_params(trunk) / 1e6)
    for size in sizes:
        row[f'gflops_{size}'] = count_flops(trunk, size) / 1e9
        row[f'latency_ms_{size}'] = latency_ms(trunk, size, repeats, warmup)
        print(
            f"  {student['zoo_name']} @ {size}: "
            f"{row[f'gflops_{size}']:.1f} GFLOPs, "
            f"{row[f'latency_ms_{size}']:.0f} ms",
            flush=True)
    return row


def make_table(rows: List[Dict], sizes: List[int]) -> str:
    """Terminaltables rendering of the benchmark rows."""
    header = [
        'Model', 'timm model', 'Params backbone (M)', 'Params encoder (M)'
    ]
    for size in sizes:
        header += [f'GFLOPs @{size}', f'CPU ms @{size}']
    data = [header]
    for row in rows:
        line = [
            row['zoo_name'], row['timm_model'],
            f"{row['params_backbone_m']:.2f}", f"{row['params_m']:.2f}"
        ]
        for size in sizes:
            line += [
                f"{row[f'gflops_{size}']:.1f}",
                f"{row[f'latency_ms_{size}']:.0f}"
            ]
        data.append(line)
    return AsciiTable(data).table


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Params / GFLOPs / CPU latency of the student encoders')
    parser.add_argument('--sizes', type=int, nargs='+', default=[1008])
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='timed runs per model and size (median)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--models',
        nargs='+',
        default=None,
        help='substrings of student file / timm / zoo names')
    parser.add_argument('--out-channels', type=int, default=1024)
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch intra-op threads (default: torch\'s)')
    parser.add_argument('--json', default=None, help='write rows here')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    students = list_students(args.models)
    if not students:
        raise SystemExit(f'no student matches {args.models}')
    rows = []
    for student in students:
        rows.append(
            benchmark(student, args.sizes, args.repeats, args.warmup,
                      args.out_channels))
    print(make_table(rows, args.sizes))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        meta = dict(
            torch=torch.__version__,
            threads=torch.get_num_threads(),
            machine=platform.platform(),
            cpu_count=os.cpu_count(),
            sizes=args.sizes,
            repeats=args.repeats,
            warmup=args.warmup,
            batch=1)
        with open(args.json, 'w') as f:
            json.dump(dict(meta=meta, rows=rows), f, indent=2)
    return rows


if __name__ == '__main__':
    main()
