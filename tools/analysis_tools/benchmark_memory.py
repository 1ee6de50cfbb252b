# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Memory-attention cost: Perceiver memory bank vs the dense SAM3 bank.

For 1..N memory frames (SAM3 sizes by default: 72x72 memory maps of 64
channels, 72x72 current-frame queries of 256 channels, 16 object pointers)
the script fills a :class:`DenseMemoryBank` and a
:class:`PerceiverMemoryBank`, gathers their memory and runs the same
:class:`MemoryAttention` on both. Reported per number of frames: the
cross-attention keys, FLOPs (``torch.utils.flop_counter.FlopCounterMode``,
counted on the meta device) and the median CPU/GPU time of one
memory-attention step; plus the Perceiver's own cost to compress one new
memory frame.

Example::

    python tools/analysis_tools/benchmark_memory.py --repeats 3 \
        --json work_dirs/memory_benchmark.json \
        --plot docs/memory_benchmark.png
"""
import argparse
import copy
import json
import os
import platform
import statistics
import time
from typing import Callable, Dict, List, Tuple

import torch
from terminaltables import AsciiTable
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from esam3.models.memory import (DenseMemoryBank, MemoryAttention,
                                 PerceiverMemoryBank, SpatialPerceiver,
                                 sine_position_encoding_2d)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--frames',
        type=int,
        nargs=2,
        default=[1, 16],
        metavar=('MIN', 'MAX'),
        help='memory frames range')
    p.add_argument(
        '--map-size',
        type=int,
        default=72,
        help='memory map / query grid side (SAM3 @1008: 72)')
    p.add_argument('--mem-dim', type=int, default=64)
    p.add_argument('--d-model', type=int, default=256)
    p.add_argument('--num-layers', type=int, default=2)
    p.add_argument(
        '--num-global', type=int, default=64, help='Perceiver global latents')
    p.add_argument(
        '--grid',
        type=int,
        default=8,
        help='Perceiver 2D window grid side (grid^2 latents)')
    p.add_argument(
        '--num-ptrs', type=int, default=16, help='object pointers in the bank')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--device', default='cpu')
    p.add_argument(
        '--no-timing',
        action='store_true',
        help='only count keys and FLOPs (no compute)')
    p.add_argument('--target-frames', type=int, default=7)
    p.add_argument('--json', help='write the results to this JSON file')
    p.add_argument('--plot', help='write a PNG plot to this file')
    p.add_argument(
        '--from-json', help='re-print / re-plot a saved result, run nothing')
    return p.parse_args()


def count_flops(module: nn.Module,
                *inputs: torch.Tensor,
                suffix: str = '') -> Tuple[int, int]:
    """FLOPs of ``module(*inputs)``, counted on the meta device (no compute).

    Returns:
        ``(total, part)``: all FLOPs, and those of the sub-modules whose name
        ends with ``suffix`` (0 when no suffix is given).
    """
    meta = copy.deepcopy(module).to('meta')
    meta_inputs = [torch.empty_like(x, device='meta') for x in inputs]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        meta(*meta_inputs)
    part = sum(
        sum(ops.values()) for name, ops in counter.get_flop_counts().items()
        if suffix and name.endswith(suffix))
    return counter.get_total_flops(), part


def timer(fn: Callable[[], object], device: str) -> float:
    """Wall time of one ``fn()`` call in milliseconds."""
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1e3


def fill_bank(bank: nn.Module, maps: List[torch.Tensor], pos: torch.Tensor,
              ptrs: List[torch.Tensor]) -> None:
    """Append all frames (frame 0 = conditioning) to ``bank``."""
    bank.reset()
    with torch.no_grad():
        for t, (feat, ptr) in enumerate(zip(maps, ptrs)):
            bank.append(t, feat, pos, ptr, is_cond=t == 0)


def run(args: argparse.Namespace) -> Dict:
    torch.manual_seed(0)
    dev, s = args.device, args.map_size
    attn = MemoryAttention(args.d_model, args.mem_dim,
                           args.num_layers).to(dev).eval()
    perceiver = SpatialPerceiver(
        args.mem_dim, num_global_latents=args.num_global,
        grid_size=args.grid).to(dev).eval()
    n_hist = max(args.frames[1], args.num_ptrs)
    maps = [
        torch.randn(1, args.mem_dim, s, s, device=dev) for _ in range(n_hist)
    ]
    ptrs = [torch.randn(1, args.d_model, device=dev) for _ in range(n_hist)]
    mem_pos = sine_position_encoding_2d(
        s, s, args.mem_dim, device=dev).unsqueeze(0)
    queries = torch.randn(1, s * s, args.d_model, device=dev)
    query_pos = sine_position_encoding_2d(
        s, s, args.d_model, device=dev).flatten(1).t().unsqueeze(0)

    # cost of compressing one new memory frame (once per frame)
    comp_flops, _ = count_flops(perceiver, maps[0], mem_pos)
    timing = not args.no_timing
    comp_ms = float('nan')
    with torch.no_grad():
        for _ in range(args.warmup if timing else 0):
            perceiver(maps[0], mem_pos)
            attn(queries, maps[0].flatten(2).transpose(1, 2), query_pos)
        if timing:
            comp_ms = statistics.median(
                timer(lambda: perceiver(maps[0], mem_pos), dev)
                for _ in range(max(args.repeats, 5)))

    rows = []
    for n in range(args.frames[0], args.frames[1] + 1):
        bank_kw = dict(
            mem_dim=args.mem_dim,
            num_maskmem=n,
            max_obj_ptrs=args.num_ptrs,
            ptr_dim=args.d_model)
        banks = dict(
            dense=DenseMemoryBank(**bank_kw).to(dev),
            perceiver=PerceiverMemoryBank(perceiver=perceiver,
                                          **bank_kw).to(dev))
        row = dict(frames=n)
        times = {name: [] for name in banks}
        gathered = {}
        for name, bank in banks.items():
            # n memory frames, but always ``num_ptrs`` pointers of history
            fill_bank(bank, maps[:max(n, args.num_ptrs)], mem_pos,
                      ptrs[:max(n, args.num_ptrs)])
            with torch.no_grad():
                memory, pos = bank.gather()
            gathered[name] = (memory, pos)
            row[f'keys_{name}'] = memory.shape[1]
            total, cross = count_flops(
                attn, queries, memory, query_pos, pos, suffix='.cross_attn')
            row[f'gflops_{name}'] = total / 1e9
            row[f'gflops_cross_{name}'] = cross / 1e9
        with torch.no_grad():
            for _ in range(args.repeats if timing else 0):
                # dense and Perceiver interleaved against load drift
                for name, (memory, pos) in gathered.items():
                    times[name].append(
                        timer(lambda: attn(queries, memory, query_pos, pos),
                              dev))
        for name in banks:
            row[f'ms_{name}'] = statistics.median(times[name]) \
                if timing else float('nan')
            row[f'ms_{name}_runs'] = times[name]
        row['key_ratio'] = row['keys_dense'] / row['keys_perceiver']
        row['flop_ratio'] = row['gflops_dense'] / row['gflops_perceiver']
        row['cross_flop_ratio'] = (
            row['gflops_cross_dense'] / row['gflops_cross_perceiver'])
        row['speedup'] = row['ms_dense'] / row['ms_perceiver']
        row['speedup_incl_compression'] = row['ms_dense'] / (
            row['ms_perceiver'] + comp_ms)
        rows.append(row)
        print(
            f'[{n} frames] dense {row["ms_dense"]:.0f} ms, perceiver '
            f'{row["ms_perceiver"]:.0f} ms',
            flush=True)

    target = next((r for r in rows if r['frames'] == args.target_frames), None)
    return dict(
        config={
            k: v
            for k, v in vars(args).items()
            if k not in ('json', 'plot', 'from_json')
        },
        latents_per_frame=perceiver.num_latents,
        tokens_per_dense_frame=s * s,
        pointer_tokens=args.num_ptrs * (args.d_model // args.mem_dim),
        compression=dict(gflops=comp_flops / 1e9, ms=comp_ms),
        rows=rows,
        targets=None if target is None else dict(
            frames=args.target_frames,
            key_ratio=target['key_ratio'],
            key_ratio_ok=target['key_ratio'] >= 8,
            flop_ratio=target['flop_ratio'],
            speedup=target['speedup'],
            speedup_ok=target['speedup'] >= 5),
        machine=dict(
            platform=platform.platform(),
            processor=platform.processor(),
            cpu_count=os.cpu_count(),
            torch=torch.__version__,
            threads=torch.get_num_threads(),
            device=dev))


def print_tables(res: Dict) -> None:
    header = [
        'frames', 'keys dense', 'keys perc.', 'keys x', 'GFLOPs dense',
        'GFLOPs perc.', 'FLOPs x', 'cross-attn GFLOPs dense / perc.',
        'ms dense', 'ms perc.', 'speed-up'
    ]
    data = [header]
    for r in res['rows']:
        data.append([
            r['frames'], r['keys_dense'], r['keys_perceiver'],
            f'{r["key_ratio"]:.1f}', f'{r["gflops_dense"]:.1f}',
            f'{r["gflops_perceiver"]:.1f}', f'{r["flop_ratio"]:.2f}',
            f'{r["gflops_cross_dense"]:.1f} / '
            f'{r["gflops_cross_perceiver"]:.1f}', f'{r["ms_dense"]:.0f}',
            f'{r["ms_perceiver"]:.0f}', f'{r["speedup"]:.2f}'
        ])
    print(AsciiTable(data, 'memory attention per frame and object').table)
    c = res['compression']
    print(
        AsciiTable([['Perceiver compression per new frame', 'GFLOPs', 'ms'],
                    [
                        f'{res["tokens_per_dense_frame"]} -> '
                        f'{res["latents_per_frame"]} tokens',
                        f'{c["gflops"]:.2f}', f'{c["ms"]:.1f}'
                    ]]).table)
    t = res['targets']
    if t:
        timed = t['speedup'] == t['speedup']  # not NaN
        speed = (f'{t["speedup"]:.2f}x faster (target >= 5x: '
                 f'{"OK" if t["speedup_ok"] else "MISSED"})'
                 if timed else 'not timed (--no-timing)')
        print(f'At {t["frames"]} frames: keys shrink {t["key_ratio"]:.1f}x '
              f'(target >= 8x: {"OK" if t["key_ratio_ok"] else "MISSED"}); '
              f'memory attention: {t["flop_ratio"]:.2f}x fewer FLOPs, '
              f'{speed}')


def plot(res: Dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    frames = [r['frames'] for r in res['rows']]
    panels = [('keys', 'cross-attention keys', True),
              ('gflops', 'GFLOPs per step', False)]
    if not res['config']['no_timing']:
        panels.append(('ms', 'ms per step (median)', False))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2))
    for ax, (key, title, log) in zip(axes, panels):
        ax.plot(
            frames, [r[f'{key}_dense'] for r in res['rows']],
            'o-',
            label='dense (SAM3)')
        ax.plot(
            frames, [r[f'{key}_perceiver'] for r in res['rows']],
            's-',
            label=f'Perceiver ({res["latents_per_frame"]}/frame)')
        if key == 'gflops':
            for name, style in (('dense', 'C0:'), ('perceiver', 'C1:')):
                ax.plot(
                    frames, [r[f'gflops_cross_{name}'] for r in res['rows']],
                    style,
                    label=f'{name}: cross-attention part')
        if key == 'ms':
            comp = res['compression']['ms']
            ax.plot(
                frames, [r['ms_perceiver'] + comp for r in res['rows']],
                '--',
                label='Perceiver + compression of the new frame')
        ax.axvline(
            res['config']['target_frames'], color='grey', lw=0.8, ls=':')
        ax.set_xlabel('memory frames')
        ax.set_title(title)
        if log:
            ax.set_yscale('log')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle('Memory attention, Perceiver vs dense bank '
                 f'({res["config"]["map_size"]}x{res["config"]["map_size"]}'
                 f' map, {res["config"]["num_layers"]} layers, '
                 f'{res["machine"]["threads"]} threads)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.from_json:
        with open(args.from_json) as f:
            res = json.load(f)
    else:
        res = run(args)
    print_tables(res)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=2)
    if args.plot:
        plot(res, args.plot)


if __name__ == '__main__':
    main()
