# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Per-frame memory cost of the SHIPPED video tracker modules, in FLOPs.

Counts, with ``torch.utils.flop_counter.FlopCounterMode`` on the meta device
(exact for the shapes, no compute; the CPU SDPA kernel, which the counter
scores 0, gets its formula registered first), for SAM3 sizes (1008 px:
72 x 72 queries of 256 channels, memory of 64 channels, 16 object pointers
= 64 tokens):

* SAM3's dense memory attention (``Sam3TrackerVideoMemoryAttention``, 4
  layers, 5184 keys per memory frame), what the teacher runs;
* esam3's memory attention (``Sam3RoPEMemoryAttention`` = transformers'
  EdgeTAM RoPE module with SAM3's shapes) on a ``PerceiverMemoryBank`` of
  ``G`` global + ``R x R`` 2D latents per frame, for each ``--latents``
  choice and each ``--layers`` depth;
* the Perceiver's compression of one new memory frame (once per frame and
  object).

Example::

    python tools/analysis_tools/memory_attention_flops.py --frames 7 \
        --latents 64x8 64x12 128x18 256x16 --layers 4 2 \
        --json work_dirs/memory_attention_flops.json
"""
import argparse
import json
from typing import Dict, List, Tuple

import torch
from terminaltables import AsciiTable
from torch import nn
from torch.utils.flop_counter import (FlopCounterMode, register_flop_formula,
                                      sdpa_flop_count)

from esam3.models.memory import (DenseMemoryBank, PerceiverMemoryBank,
                                 Sam3RoPEMemoryAttention,
                                 edgetam_memory_attention_config)


def register_cpu_sdpa_flops() -> None:
    """FlopCounterMode scores the CPU SDPA kernel 0; give it the formula of the
    other SDPA kernels (``sdpa_flop_count`` on q/k/v shapes)."""
    op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu

    @register_flop_formula(op)
    def _cpu_sdpa(query_shape,
                  key_shape,
                  value_shape,
                  *args,
                  out_shape=None,
                  **kwargs) -> int:
        return sdpa_flop_count(query_shape, key_shape, value_shape)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--frames',
        type=int,
        default=7,
        help='memory frames (SAM3: 1 conditioning + 6 recent)')
    p.add_argument(
        '--num-ptr-tokens',
        type=int,
        default=64,
        help='object-pointer tokens (16 pointers x 4)')
    p.add_argument(
        '--latents',
        nargs='+',
        default=['64x8', '64x12', '128x18', '256x16'],
        help='Perceiver choices as GLOBALxGRID (G global + '
        'GRID x GRID 2D latents)')
    p.add_argument(
        '--layers',
        type=int,
        nargs='+',
        default=[4, 2],
        help='memory-attention depths')
    p.add_argument('--json', help='write the rows to this JSON file')
    return p.parse_args()


def count(module: nn.Module, *args, **kwargs) -> int:
    """FLOPs of one call on the meta device."""
    module = module.to('meta').eval()
    args = [torch.empty_like(a, device='meta') for a in args]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*args, **kwargs)
    return counter.get_total_flops()


def sam3_config():
    """SAM3's video tracker config (defaults = facebook/sam3 sizes)."""
    from transformers import Sam3TrackerVideoConfig
    return Sam3TrackerVideoConfig()


def memory_inputs(grid: int, keys: int, d_model: int,
                  mem_dim: int) -> Tuple[torch.Tensor, ...]:
    hw = grid * grid
    return (torch.empty(hw, 1, d_model), torch.empty(keys, 1, mem_dim),
            torch.empty(hw, 1, d_model), torch.empty(keys, 1, mem_dim))


def measure(args) -> List[Dict]:
    from transformers.models.sam3_tracker_video import \
        modeling_sam3_tracker_video as hf_video
    Sam3TrackerVideoMemoryAttention = hf_video.Sam3TrackerVideoMemoryAttention
    register_cpu_sdpa_flops()
    cfg = sam3_config()
    grid = int(cfg.memory_attention_rope_feat_sizes[0])
    d_model = int(cfg.memory_attention_hidden_size)
    mem_dim = 64
    rows = []

    def count_memory_attention(module: nn.Module, keys: int) -> int:
        """FLOPs of the RoPE memory attention reading ``keys`` memory keys
        (``--frames`` spatial frames + the object-pointer tokens)."""
        return count(
            module,
            *memory_inputs(grid, keys, d_model, mem_dim),
            num_object_pointer_tokens=args.num_ptr_tokens,
            num_spatial_memory_tokens=args.frames)

    keys = args.frames * grid * grid + args.num_ptr_tokens
    with torch.device('meta'):
        dense = Sam3TrackerVideoMemoryAttention(cfg)
    feats, mem, pos, mem_pos = memory_inputs(grid, keys, d_model, mem_dim)
    flops = count(
        dense,
        feats,
        mem,
        pos,
        mem_pos,
        num_object_pointer_tokens=args.num_ptr_tokens)
    rows.append(
        dict(
            memory='dense (SAM3 teacher)',
            K=grid * grid,
            layers=cfg.memory_attention_num_layers,
            keys=keys,
            gflops=flops / 1e9,
            compress_gflops=0.0))
    bank_dense = DenseMemoryBank()
    for spec in args.latents:
        n_glob, side = (int(v) for v in spec.lower().split('x'))
        bank = PerceiverMemoryBank(
            perceiver=dict(
                type='SpatialPerceiver',
                dim=mem_dim,
                num_global_latents=n_glob,
                grid_size=(side, side),
                depth=2,
                num_heads=1,
                ff_mult=4))
        k = bank.perceiver.num_latents
        compress = count(bank.perceiver, torch.empty(1, mem_dim, grid, grid),
                         torch.empty(1, mem_dim, grid, grid))
        keys = args.frames * k + args.num_ptr_tokens
        for layers in args.layers:
            module = Sam3RoPEMemoryAttention(
                edgetam_memory_attention_config(cfg, layers),
                bank.key_positions(grid, grid))
            flops = count_memory_attention(module, keys)
            rows.append(
                dict(
                    memory=f'Perceiver {n_glob} + {side}x{side}',
                    K=k,
                    layers=layers,
                    keys=keys,
                    gflops=flops / 1e9,
                    compress_gflops=compress / 1e9))
    # the same RoPE module on the dense bank (every token its own window)
    module = Sam3RoPEMemoryAttention(
        edgetam_memory_attention_config(cfg, 2),
        bank_dense.key_positions(grid, grid))
    keys = args.frames * grid * grid + args.num_ptr_tokens
    flops = count_memory_attention(module, keys)
    rows.append(
        dict(
            memory='dense, 2 layers',
            K=grid * grid,
            layers=2,
            keys=keys,
            gflops=flops / 1e9,
            compress_gflops=0.0))
    return rows


def main() -> None:
    args = parse_args()
    rows = measure(args)
    dense = rows[0]['gflops']
    table = [[
        'memory', 'K / frame', 'layers', 'keys', 'GFLOPs',
        'x cheaper than dense', 'compress GFLOPs / new frame'
    ]]
    for r in rows:
        table.append([
            r['memory'], r['K'], r['layers'], r['keys'], f"{r['gflops']:.1f}",
            f"{dense / r['gflops']:.2f}", f"{r['compress_gflops']:.2f}"
        ])
    print(f'memory attention per frame and object, {args.frames} memory '
          f'frames + {args.num_ptr_tokens} pointer tokens, 72x72 queries')
    print(AsciiTable(table).table)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), rows=rows), f, indent=2)


if __name__ == '__main__':
    main()
