# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Latency benchmark of trunk-mode students against the SAM3 teacher.

(The per-path FLOP component tables of the shipping light-neck students are
``tools/analysis_tools/benchmark.py``; this tool keeps the eager / onnxruntime
latency measurements of the trunk-mode encoder, whose figures
docs/benchmark.md quotes.)

Per model: parameters, GFLOPs, latency (median of ``--repeats`` runs after
``--warmup``), peak memory, for

* the encoder: student = timm backbone + alignment head to the SAM3 trunk
  (1024 ch at S/14 = 72x72 for S = 1008); teacher = the SAM3 ViT
  (``Sam3ViTConfig()`` defaults, random weights);
* the prompt-to-mask path: encoder + SAM3 tracker neck + prompt encoder +
  mask decoder for one box prompt (real-size heads:
  ``Sam3TrackerConfig()`` defaults, random weights);
* the encoder on onnxruntime (exported on the fly, legacy exporter, opset
  17), compared with eager PyTorch (students only; the 446M-parameter ViT
  export is skipped).

Definitions:

* GFLOPs: ``torch.utils.flop_counter.FlopCounterMode`` total / 1e9
  (FLOPs = 2 x multiply-accumulates of matmul / conv / attention); the
  path adds the heads (counted on a trunk map) to the encoder.
* Peak memory (CPU): increase of the process peak resident set size
  during the warm-up + timed runs over the resident size just before
  them (after ``gc.collect()`` and glibc ``malloc_trim(0)``), the peak
  being reset through ``/proc/self/clear_refs`` (Linux ``VmHWM``).
  Weights are already resident, so it measures activations and
  workspace. Falls back to ``resource.getrusage`` max-RSS deltas elsewhere
  (a lower bound). On CUDA: ``torch.cuda.max_memory_allocated`` over the
  runs minus the allocation before them.

Examples::

    python tools/analysis_tools/benchmark_latency.py \\
        --models repvit_m1_1,efficientvit_b0,tinyvit_5m --repeats 3 \\
        --teacher-repeats 1 --threads 2 --json work_dirs/benchmark.json
    python tools/analysis_tools/benchmark_latency.py --skip-teacher \\
        --repeats 10
    python tools/analysis_tools/benchmark_latency.py --device cuda --amp
"""
import argparse
import glob
import json
import os
import os.path as osp
import platform
import resource
import statistics
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor, nn

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT_DIR = osp.join(REPO, 'configs', '_base_', 'models', 'students')
TEACHER = 'sam3_teacher'


def available_students() -> List[str]:
    """Student zoo names = files in ``configs/_base_/models/students``."""
    return sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(STUDENT_DIR, '*.py')))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='esam3 speed benchmark')
    parser.add_argument(
        '--models',
        default='all',
        help='comma-separated student names (files of '
        'configs/_base_/models/students) or "all"')
    parser.add_argument(
        '--img-size',
        type=int,
        default=1008,
        help='input size (SAM3: 1008 -> 72x72 trunk)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=5,
        help='timed runs per student measurement')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed runs before timing')
    parser.add_argument(
        '--teacher-repeats',
        type=int,
        default=1,
        help='timed runs of the teacher (~100 s each on a '
        '2-core CPU)')
    parser.add_argument('--skip-teacher', action='store_true')
    parser.add_argument('--skip-onnx', action='store_true')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch / onnxruntime intra-op threads')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument(
        '--amp', action='store_true', help='fp16 autocast (CUDA only)')
    parser.add_argument('--json', default=None, help='write results here')
    parser.add_argument(
        '--table-from',
        default=None,
        metavar='JSON',
        help='only print the table of a saved result file')
    return parser.parse_args(argv)


# ---------------------------------------------------------------- models
def build_student_encoder(name: str,
                          img_size: int,
                          trunk_channels: int = 1024) -> nn.Module:
    """``StudentTrunk`` (timm backbone + ``Sam3AlignHead`` in trunk mode)
    mapping ``[1, 3, S, S]`` to ``[1, 1024, S/14, S/14]``."""
    from mmengine.config import Config

    from esam3.registry import MODELS
    path = osp.join(STUDENT_DIR, f'{name}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'unknown student {name!r}: no {path} '
                                f'(available: {available_students()})')
    backbone = Config.fromfile(path).student_backbone
    grid = img_size // 14
    return MODELS.build(
        dict(
            type='StudentTrunk',
            backbone=backbone,
            neck=dict(
                type='Sam3AlignHead',
                mode='trunk',
                out_channels=trunk_channels,
                out_size=(grid, grid))))


def build_sam3_tracker(with_vit: bool) -> nn.Module:
    """Real-size ``Sam3TrackerModel`` (``Sam3TrackerConfig()``) with random
    weights.

    Without ``with_vit`` the 32-layer ViT is built with
    one layer and dropped (the neck and heads are unchanged).
    """
    from transformers import Sam3TrackerConfig, Sam3TrackerModel
    cfg = Sam3TrackerConfig()
    if not with_vit:
        cfg.vision_config.backbone_config.num_hidden_layers = 1
        cfg.vision_config.backbone_config.global_attn_indexes = [0]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = Sam3TrackerModel(cfg).eval()
    if not with_vit:
        model.vision_encoder.backbone = None
    return model


class ViTTrunk(nn.Module):
    """SAM3 ViT tokens -> trunk map ``[B, C, S/14, S/14]``."""

    def __init__(self, vit: nn.Module, patch: int = 14) -> None:
        super().__init__()
        self.vit, self.patch = vit, patch

    def forward(self, pixels: Tensor) -> Tensor:
        b, _, h, w = pixels.shape
        tokens = self.vit(pixels).last_hidden_state
        return tokens.transpose(1, 2).reshape(b, -1, h // self.patch,
                                              w // self.patch)


class TrackerHeads(nn.Module):
    """Trunk map + one box -> mask logits: the SAM3 tracker neck, the
    ``conv_s0`` / ``conv_s1`` projections and no-memory embedding (as
    :meth:`esam3.models.heads.Sam3Heads.tracker_image_embeddings`), then the
    prompt encoder and mask decoder (``Sam3Heads.decode_prompts``)."""

    def __init__(self, tracker: nn.Module) -> None:
        super().__init__()
        self.tracker = tracker

    def num_params(self) -> int:
        """Parameters of the neck + prompt encoder + mask decoder (the
        tracker's ViT, when present, is the teacher encoder)."""
        vit = self.tracker.vision_encoder.backbone
        skip = {id(p) for p in vit.parameters()} if vit is not None else set()
        return sum(p.numel() for p in self.tracker.parameters()
                   if id(p) not in skip)

    def forward(self, trunk: Tensor, points: Tensor, labels: Tensor) -> Tensor:
        t = self.tracker
        fpn, _ = t.vision_encoder.neck(trunk)
        emb = [
            t.mask_decoder.conv_s0(fpn[0]),
            t.mask_decoder.conv_s1(fpn[1]),
            fpn[2] + t.no_memory_embedding.view(1, -1, 1, 1)
        ]
        return t(
            image_embeddings=emb,
            input_points=points,
            input_labels=labels,
            multimask_output=False).pred_masks


class PromptToMask(nn.Module):
    """Encoder followed by :class:`TrackerHeads`."""

    def __init__(self, encoder: nn.Module, heads: TrackerHeads) -> None:
        super().__init__()
        self.encoder, self.heads = encoder, heads

    def forward(self, pixels: Tensor, points: Tensor,
                labels: Tensor) -> Tensor:
        return self.heads(self.encoder(pixels), points, labels)


# ----------------------------------------------------------- measurement
def _status_kb(key: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _release_free_memory() -> None:
    """Return freed heap memory to the OS (glibc ``malloc_trim``) so that
    memory cached by earlier runs does not hide the next run's peak."""
    import ctypes
    import gc
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


class MemoryMeter:
    """Peak memory increase during a block (see the module docstring)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.mb = float('nan')
        self.method = ''

    def __enter__(self) -> 'MemoryMeter':
        _release_free_memory()
        if self.device.type == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
            self.method = 'cuda max_memory_allocated'
        elif _reset_peak_rss() and _status_kb('VmRSS') is not None:
            self.base = _status_kb('VmRSS') * 1024
            self.method = 'VmHWM after clear_refs'
        else:
            self.base = resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss * 1024
            self.method = 'ru_maxrss delta (lower bound)'
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated()
        elif self.method.startswith('VmHWM'):
            peak = _status_kb('VmHWM') * 1024
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.mb = max(0, peak - self.base) / 2**20


def count_gflops(fn: Callable[[], object]) -> float:
    """FLOPs of one call, by ``FlopCounterMode`` (no printing)."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 1e9


def time_runs(fn: Callable[[], object], warmup: int, repeats: int,
              device: torch.device, label: str) -> Dict:
    """Median / min / mean wall time (ms) of ``repeats`` calls after ``warmup``
    calls, with a progress bar, and the peak memory of all the calls (freed
    heap memory is returned to the OS first)."""
    from mmengine.utils import ProgressBar
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    print(f'\n{label}: {warmup} warm-up + {repeats} timed run(s)')
    bar = ProgressBar(warmup + repeats)
    times = []
    with MemoryMeter(device) as mem:
        for _ in range(warmup):
            fn()
            sync()
            bar.update()
        for _ in range(repeats):
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times.append((time.perf_counter() - start) * 1e3)
            bar.update()
    return dict(
        median_ms=statistics.median(times),
        min_ms=min(times),
        mean_ms=statistics.fmean(times),
        runs=len(times),
        peak_mem_mb=mem.mb,
        mem_method=mem.method)


def onnx_encoder_latency(encoder: nn.Module, pixels: Tensor, warmup: int,
                         repeats: int, threads: Optional[int],
                         label: str) -> Dict:
    """Export the encoder, check it, and time it on onnxruntime (CPU)."""
    import numpy as np

    from esam3.deploy import check_onnx, create_session
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'encoder.onnx')
        start = time.perf_counter()
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter('ignore')
            torch.onnx.export(
                encoder, (pixels, ),
                path,
                dynamo=False,
                opset_version=17,
                input_names=['pixels'],
                output_names=['trunk'])
        check_onnx(path)
        export_s = time.perf_counter() - start
        sess = create_session(path, num_threads=threads)
        feed = {'pixels': pixels.cpu().numpy()}
        ref = encoder(pixels).cpu().numpy()
        diff = float(np.abs(sess.run(None, feed)[0] - ref).max())
        res = time_runs(lambda: sess.run(None, feed), warmup, repeats,
                        torch.device('cpu'), label)
    res.update(export_s=export_s, max_abs_diff=diff)
    return res


# -------------------------------------------------------------- benchmark
def box_prompt(img_size: int, device: torch.device):
    """One box (central half of the image) as SAM corner points."""
    s = float(img_size)
    points = torch.tensor([[[[s / 4, s / 4], [3 * s / 4, 3 * s / 4]]]],
                          device=device)
    labels = torch.tensor([[[2, 3]]], dtype=torch.long, device=device)
    return points, labels


def bench_one(name: str, encoder: nn.Module, heads: TrackerHeads,
              args: argparse.Namespace, device: torch.device, repeats: int,
              is_teacher: bool) -> Dict:
    """All measurements of one model."""
    # inference only; also keeps FlopCounterMode's module tracker away from
    # views of parameters made under no_grad (they claim requires_grad)
    encoder = encoder.to(device).eval().requires_grad_(False)
    heads.requires_grad_(False)
    path = PromptToMask(encoder, heads).eval()
    pixels = torch.randn(1, 3, args.img_size, args.img_size, device=device)
    points, labels = box_prompt(args.img_size, device)
    amp = torch.autocast(
        'cuda', dtype=torch.float16) if (
            args.amp and device.type == 'cuda') else torch.autocast(
                'cpu', enabled=False)

    def run_encoder():
        with amp:
            return encoder(pixels)

    def run_path():
        with amp:
            return path(pixels, points, labels)

    row = dict(
        model=name,
        device=device.type,
        amp=bool(args.amp),
        img_size=args.img_size,
        params_m=sum(p.numel() for p in encoder.parameters()) / 1e6,
        heads_params_m=heads.num_params() / 1e6)
    # the FLOP-counted call doubles as the encoder's first warm-up run
    print(f'\n{name}: counting FLOPs (one untimed encoder run)...')
    with torch.no_grad():
        row['encoder_gflops'] = count_gflops(run_encoder)
        trunk = run_encoder()
        with amp:
            row['heads_gflops'] = count_gflops(
                lambda: heads(trunk, points, labels))
            heads(trunk, points, labels)  # warm the heads
        row['path_gflops'] = row['encoder_gflops'] + row['heads_gflops']
        warm = max(0, args.warmup - 1)
        row['encoder'] = time_runs(run_encoder, warm, repeats, device,
                                   f'{name} encoder (eager)')
        row['path'] = time_runs(run_path, 0, repeats, device,
                                f'{name} prompt-to-mask (eager)')
        if not (args.skip_onnx or is_teacher or device.type != 'cpu'):
            row['encoder_onnx'] = onnx_encoder_latency(
                encoder.float(), pixels.float(), args.warmup, repeats,
                args.threads, f'{name} encoder (onnxruntime)')
    return row


def add_speedups(rows: List[Dict]) -> None:
    """``x_faster_encoder`` / ``x_faster_path``: teacher median latency over
    the model's (when the teacher was measured)."""
    teacher = next((r for r in rows if r['model'] == TEACHER), None)
    for r in rows:
        for key in ('encoder', 'path'):
            r[f'x_faster_{key}'] = None if teacher is None else (
                teacher[key]['median_ms'] / r[key]['median_ms'])


def _fmt(value: Optional[float], spec: str) -> str:
    return '-' if value is None else format(value, spec)


def results_table(rows: List[Dict]) -> str:
    """Terminaltables summary."""
    from terminaltables import AsciiTable
    add_speedups(rows)
    data = [[
        'model', 'params (M)', 'GFLOPs enc', 'GFLOPs path', 'enc eager ms',
        'enc ORT ms', 'ORT/eager', 'path ms', 'x faster enc', 'x faster path',
        'peak mem enc MB', 'peak mem path MB'
    ]]
    for r in rows:
        onnx = r.get('encoder_onnx')
        enc = r['encoder']['median_ms']
        data.append([
            r['model'], f"{r['params_m']:.2f}", f"{r['encoder_gflops']:.1f}",
            f"{r['path_gflops']:.1f}", f'{enc:.0f}',
            _fmt(onnx and onnx['median_ms'], '.0f'),
            _fmt(onnx and onnx['median_ms'] / enc,
                 '.2f'), f"{r['path']['median_ms']:.0f}",
            _fmt(r['x_faster_encoder'], '.1f'),
            _fmt(r['x_faster_path'],
                 '.1f'), f"{r['encoder']['peak_mem_mb']:.0f}",
            f"{r['path']['peak_mem_mb']:.0f}"
        ])
    return AsciiTable(data).table


def environment(args: argparse.Namespace) -> Dict:
    import onnxruntime
    import transformers
    return dict(
        torch=torch.__version__,
        onnxruntime=onnxruntime.__version__,
        transformers=transformers.__version__,
        python=platform.python_version(),
        cpu=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        loadavg=os.getloadavg() if hasattr(os, 'getloadavg') else None,
        command=' '.join([osp.relpath(__file__, REPO)] + sys.argv[1:]))


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.table_from:
        with open(args.table_from) as f:
            print(results_table(json.load(f)['results']))
        return 0
    from mmengine.registry import init_default_scope

    import esam3  # noqa: F401  (registries)
    init_default_scope('esam3')
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('CUDA is not available: skipping the GPU benchmark')
        return 0
    if args.amp and device.type != 'cuda':
        print('--amp is for CUDA; running fp32 on CPU')
        args.amp = False
    if args.threads:
        torch.set_num_threads(args.threads)
    names = available_students() if args.models == 'all' else [
        m.strip() for m in args.models.split(',') if m.strip()
    ]
    torch.manual_seed(0)
    print('building the real-size SAM3 tracker (random weights)...')
    tracker = build_sam3_tracker(with_vit=not args.skip_teacher).to(device)
    heads = TrackerHeads(tracker).eval()
    rows = []
    for name in names:
        encoder = build_student_encoder(name, args.img_size)
        rows.append(
            bench_one(
                name,
                encoder,
                heads,
                args,
                device,
                args.repeats,
                is_teacher=False))
        del encoder
    if not args.skip_teacher:
        vit = ViTTrunk(tracker.vision_encoder.backbone)
        rows.append(
            bench_one(
                TEACHER,
                vit,
                heads,
                args,
                device,
                args.teacher_repeats,
                is_teacher=True))
    print('\n' + results_table(rows))  # also adds the speed-ups
    env = environment(args)
    print(f"torch {env['torch']}, onnxruntime {env['onnxruntime']}, "
          f"{env['cpu_count']} CPUs, {env['torch_threads']} torch threads, "
          f"load average {env['loadavg']}")
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(dict(environment=env, results=rows), f, indent=2)
        print(f'results written to {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
