# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Per-frame tracking latency: Stage 2 student tracker vs SAM3 tracker.

Both at real-size architectures with random weights, on this machine:

* student: ``repvit_m1_1`` encoder + alignment head (-> 1024 x S/14 x S/14)
  + the SAM3 video-tracker heads + a Perceiver memory bank (256 global +
  16 x 16 window latents = 512 tokens per memory frame);
* teacher: transformers' ``Sam3TrackerVideoModel`` (SAM3 ViT-L trunk,
  dense memory bank: S/14 x S/14 tokens per memory frame), driven by its
  own streaming inference session.

Frame 0 carries a mask prompt; frames 1.. are tracked from memory. The
tracked-frame latency is reported in total and split into encoder and
tracking (neck + memory attention + decoder + memory encoding), both as
wall-clock and as process CPU time (on a shared machine the CPU time is the
steadier number; with ``--threads 1`` it is the single-core latency); the
number of memory-attention keys of the last frame shows the compression.

Example (the full teacher at 1008 px takes minutes per frame on 2 CPU
cores: use a smaller size, or ``--tracking-only`` to run each encoder once)::

    python tools/analysis_tools/benchmark_tracker.py --size 504 --frames 8 \\
        --threads 1 --json work_dirs/benchmark_tracker_504.json
    python tools/analysis_tools/benchmark_tracker.py --size 1008 \\
        --frames 8 --threads 1 --tracking-only
"""
import argparse
import json
import os
import platform
import time
from typing import Callable, Dict, List, Optional

import torch

import esam3.models  # noqa: F401  (registers the modules)
from esam3.registry import MODELS


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--size', type=int, default=1008, help='input size S (multiple of 14)')
    parser.add_argument(
        '--frames',
        type=int,
        default=8,
        help='frames per run (frame 0 = prompt)')
    parser.add_argument('--objects', type=int, default=1)
    parser.add_argument('--student-backbone', default='repvit_m1_1')
    parser.add_argument('--global-latents', type=int, default=256)
    parser.add_argument(
        '--grid',
        type=int,
        default=16,
        help='2D latents per side (one per window)')
    parser.add_argument(
        '--tracking-only',
        action='store_true',
        help='encode one frame per model and reuse its '
        'features for every frame (transformers session: '
        'its vision-feature cache; student: trunk map), so '
        'the per-frame loop times tracking only; the '
        'encoder is timed once apart (for the full SAM3 '
        'teacher at 1008 px on a CPU)')
    parser.add_argument('--skip-teacher', action='store_true')
    parser.add_argument('--skip-student', action='store_true')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--json', default=None, help='write results here')
    return parser.parse_args(argv)


def _timed(fn: Callable, *args):
    """``(output, wall seconds, process CPU seconds)``."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - start, time.process_time() - cpu


def _memory_keys(module) -> Callable:
    seen: List[int] = []
    handle = module.register_forward_hook(
        lambda m, a, kw, o: seen.append(int(kw['memory'].shape[0])),
        with_kwargs=True)
    return seen, handle


class _Stopwatch:
    """Time spent inside a module's forward (pre/post hooks)."""

    def __init__(self, module) -> None:
        self.laps: List[float] = []
        self.cpu_laps: List[float] = []
        self.fixed = None  # (wall, cpu) of a one-off encoder run
        self._handles = [] if module is None else [
            module.register_forward_pre_hook(self._start),
            module.register_forward_hook(self._stop)
        ]

    def _start(self, *args) -> None:
        self._t0, self._c0 = time.perf_counter(), time.process_time()

    def _stop(self, *args) -> None:
        self.laps.append(time.perf_counter() - self._t0)
        self.cpu_laps.append(time.process_time() - self._c0)

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


def _mean(x: List[float]) -> float:
    return sum(x) / max(len(x), 1)


def _summary(name: str, timings: List[tuple], watch: _Stopwatch,
             keys: List[int], params: int, attn: _Stopwatch) -> Dict:
    """Per-frame ``(wall, cpu)`` timings and the encoder's share of them; frame
    0 (the prompt) is reported apart."""
    wall = [t[0] for t in timings]
    cpu = [t[1] for t in timings]
    mean, mean_cpu = _mean(wall[1:]), _mean(cpu[1:])
    enc, enc_cpu = _mean(watch.laps[1:]), _mean(watch.cpu_laps[1:])
    if watch.fixed is not None:  # tracking-only loop + one encoder run
        enc, enc_cpu = watch.fixed
        mean, mean_cpu = mean + enc, mean_cpu + enc_cpu
    return dict(
        model=name,
        params_m=round(params / 1e6, 2),
        prompt_frame_s=round(wall[0], 3),
        tracked_frame_s=round(mean, 3),
        encoder_s=round(enc, 3),
        tracking_s=round(mean - enc, 3),
        tracked_frame_cpu_s=round(mean_cpu, 3),
        encoder_cpu_s=round(enc_cpu, 3),
        tracking_cpu_s=round(mean_cpu - enc_cpu, 3),
        # memory attention share of the tracked frames (one call
        # per frame and object)
        memory_attention_cpu_s=round(
            sum(attn.cpu_laps) / max(len(timings) - 1, 1), 3),
        memory_keys_last=keys[-1] if keys else 0,
        per_frame_s=[round(t, 3) for t in wall])


def prompt_masks(n: int, size: int) -> torch.Tensor:
    masks = torch.zeros(n, size, size, dtype=torch.bool)
    for i in range(n):
        a = size // 4 + i * size // (8 * n)
        masks[i, a:a + size // 3, a:a + size // 4] = True
    return masks


def _encoder_once(watch: '_Stopwatch', fn: Callable, *args):
    """Run ``fn`` once (encoder), recording its time as every frame's encoder
    share; returns its output."""
    out, wall, cpu = _timed(fn, *args)
    watch.fixed = (wall, cpu)
    return out


def _teacher_neck(tracker, trunk: torch.Tensor) -> Dict:
    """What ``Sam3TrackerVideoModel.get_image_features`` does after the ViT:

    neck, decoder projections of the high-res levels, sequence-first layout;
    the session's vision-feature cache format.
    """
    fpn, pos = tracker.vision_encoder.neck(trunk)
    fpn, pos = list(fpn[:-1]), list(pos[:-1])
    fpn[0] = tracker.mask_decoder.conv_s0(fpn[0])
    fpn[1] = tracker.mask_decoder.conv_s1(fpn[1])
    return dict(
        vision_feats=[f.flatten(2).permute(2, 0, 1) for f in fpn],
        vision_pos_embeds=[p.flatten(2).permute(2, 0, 1) for p in pos])


@torch.no_grad()
def run_teacher(frames: torch.Tensor,
                masks: torch.Tensor,
                tracking_only: bool = False) -> Dict:
    teacher = MODELS.build(
        dict(
            type='Sam3VideoTeacher', config=dict(image_size=frames.shape[-1])))
    keys, handle = _memory_keys(teacher.tracker.memory_attention)
    attn = _Stopwatch(teacher.tracker.memory_attention)
    session = teacher.start_session(masks)
    timings = []
    if tracking_only:
        watch = _Stopwatch(None)
        trunk = _encoder_once(watch, teacher.encode_trunk, frames[:1])
        # the neck runs per frame in a real stream: timed once, added to
        # every frame (the student's step runs its neck itself)
        cached, neck_wall, neck_cpu = _timed(_teacher_neck, teacher.tracker,
                                             trunk)
        for i, frame in enumerate(frames):
            session.cache.cache_vision_features(i, cached)
            _, wall, cpu = _timed(teacher.track_frame, session, frame)
            timings.append((wall + neck_wall, cpu + neck_cpu))
    else:
        watch = _Stopwatch(teacher.trunk)
        # the session encodes each frame once (vision features are cached)
        timings = [_timed(teacher.track_frame, session, f)[1:] for f in frames]
    handle.remove()
    watch.remove()
    attn.remove()
    params = sum(p.numel() for p in teacher.parameters())
    return _summary('SAM3 tracker (ViT-L, dense memory)', timings, watch, keys,
                    params, attn), teacher


def student_cfg(size: int, backbone: str, global_latents: int,
                grid: int) -> dict:
    g = size // 14
    return dict(
        type='Sam3VideoTrackerStudent',
        trunk=dict(
            type='StudentTrunk',
            backbone=dict(type='TimmBackbone', model_name=backbone),
            neck=dict(
                type='Sam3AlignHead',
                mode='trunk',
                out_channels=1024,
                out_size=(g, g))),
        # SAM3 tracker heads; its ViT trunk is dropped, so one layer is
        # enough to build them (same neck / heads as the full model)
        sam3_video=dict(
            config=dict(
                image_size=size,
                vision_config=dict(
                    backbone_config=dict(
                        num_hidden_layers=1, global_attn_indexes=[0])))),
        memory_bank=dict(
            type='PerceiverMemoryBank',
            perceiver=dict(
                type='SpatialPerceiver',
                dim=64,
                num_global_latents=global_latents,
                grid_size=(grid, grid),
                depth=2,
                dropout=0.1)))


@torch.no_grad()
def run_student(frames: torch.Tensor,
                masks: torch.Tensor,
                args,
                teacher=None) -> Dict:
    student = MODELS.build(
        student_cfg(frames.shape[-1], args.student_backbone,
                    args.global_latents, args.grid))
    if teacher is not None:
        student.load_heads(teacher.heads_state_dict())
    student.eval()
    keys, handle = _memory_keys(student.heads.memory_attention)
    attn = _Stopwatch(student.heads.memory_attention)
    if args.tracking_only:
        watch = _Stopwatch(None)
        trunk = _encoder_once(watch, student.encode_trunk, frames[:1])
        inputs = [trunk] * len(frames)
    else:
        watch = _Stopwatch(student.trunk)
        inputs = [f[None] for f in frames]
    state = student.init_state()
    timings = []
    for i, frame in enumerate(inputs):
        prompt = dict(masks=masks[None].float()) if i == 0 else None
        (_, _, state), dt, dc = _timed(student.step, frame, state, prompt)
        timings.append((dt, dc))
    handle.remove()
    watch.remove()
    attn.remove()
    params = sum(p.numel() for p in student.parameters())
    name = f'student ({args.student_backbone} + Perceiver ' \
           f'{args.global_latents}+{args.grid}x{args.grid})'
    return _summary(name, timings, watch, keys, params, attn)


def machine() -> Dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            names = [
                ln.split(':', 1)[1].strip() for ln in f
                if ln.startswith('model name')
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return dict(
        cpu=cpu,
        cores=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        python=platform.python_version())


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    if args.size % 14:
        raise SystemExit(f'--size must be a multiple of 14, got {args.size}')
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    frames = torch.randn(args.frames, 3, args.size, args.size)
    masks = prompt_masks(args.objects, args.size)
    rows, teacher = [], None
    if not args.skip_teacher:
        row, teacher = run_teacher(frames, masks, args.tracking_only)
        rows.append(row)
    if not args.skip_student:
        rows.append(run_student(frames, masks, args, teacher))
    for r in rows:
        assert len(r['per_frame_s']) == args.frames
    result = dict(
        size=args.size,
        frames=args.frames,
        objects=args.objects,
        tracking_only=args.tracking_only,
        machine=machine(),
        results=rows)
    if len(rows) == 2:
        for key in ('tracked_frame_s', 'tracking_s', 'tracked_frame_cpu_s',
                    'tracking_cpu_s', 'memory_attention_cpu_s'):
            if rows[1][key] > 0:
                result[f'speedup_{key[:-2]}'] = round(
                    rows[0][key] / rows[1][key], 1)
    mode = ' (tracking-only loop, encoder timed once)' \
        if args.tracking_only else ''
    print(f'size {args.size}, {args.frames} frames, {args.objects} '
          f'object(s){mode}, {result["machine"]}')
    print('| model | params (M) | tracked frame wall / CPU (s) | '
          'encoder wall / CPU (s) | tracking wall / CPU (s) | '
          'memory attention CPU (s) | memory keys (last frame) |')
    print('|---|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['model']} | {r['params_m']} | {r['tracked_frame_s']} /"
              f" {r['tracked_frame_cpu_s']} | {r['encoder_s']} / "
              f"{r['encoder_cpu_s']} | {r['tracking_s']} / "
              f"{r['tracking_cpu_s']} | {r['memory_attention_cpu_s']} | "
              f"{r['memory_keys_last']} |")
    for key, value in result.items():
        if key.startswith('speedup_'):
            print(f'{key}: {value}x')
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
