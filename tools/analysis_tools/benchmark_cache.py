# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Teacher feature cache: storage cost and read speed vs recomputing.

Measures, on this machine:

* bytes per image of the cache (tiny test teacher and real SAM3 size,
  1024 x 72 x 72 fp16, plus the index overhead);
* read throughput (images/s, MB/s) of :class:`FeatureCache` with and
  without CRC-32 verification (page cache warm: files were just written);
* the cost of recomputing the trunk per image with the tiny teacher and,
  with ``--real-trunk``, with the real-size SAM3 ViT (``Sam3ViTConfig()``
  defaults, random weights) on one 1008 px image.

Example::

    python tools/analysis_tools/benchmark_cache.py --real-trunk \\
        --json work_dirs/benchmark_cache.json
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

import esam3  # noqa: F401
from esam3.datasets.feature_cache import (INDEX_FILE, FeatureCache,
                                          FeatureCacheWriter,
                                          merge_rank_indices)

REAL_SHAPE = (1024, 72, 72)  # SAM3 trunk at 1008 px, patch 14
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MB = 1e6


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tiny-images', type=int, default=32)
    parser.add_argument(
        '--real-images',
        type=int,
        default=16,
        help='synthetic real-size features to write/read')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='read passes over the cache (best is kept)')
    parser.add_argument(
        '--real-trunk',
        action='store_true',
        help='also time one forward of the real-size SAM3 '
        'ViT (random weights) at 1008 px')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--dir', default=None, help='scratch directory')
    parser.add_argument('--json', default=None, help='write results here')
    return parser.parse_args(argv)


def write_cache(out_dir: str, features: Callable[[int], np.ndarray], num: int,
                shard_size: int) -> float:
    """Write ``num`` items; returns seconds spent writing (not computing)."""
    writer = FeatureCacheWriter(out_dir, shard_size=shard_size, num_items=num)
    spent = 0.0
    for start in range(0, num, shard_size):
        ids = list(range(start, min(num, start + shard_size)))
        feats = np.stack([features(i) for i in ids])
        t0 = time.perf_counter()
        writer.write_shard(start // shard_size, [str(i) for i in ids], feats,
                           [dict(flip=False) for _ in ids])
        spent += time.perf_counter() - t0
    writer.finish()
    merge_rank_indices(out_dir)
    return spent


def read_speed(cache_dir: str, verify: bool, repeats: int) -> Dict:
    """Best-of-``repeats`` pass reading every item into a torch tensor."""
    cache = FeatureCache(cache_dir, verify=verify)
    keys = list(cache.keys())
    nbytes = int(np.prod(cache.feature_shape)) * 2
    best = float('inf')
    for _ in range(repeats):
        cache = FeatureCache(cache_dir, verify=verify)  # fresh memmaps
        t0 = time.perf_counter()
        for key in keys:
            torch.from_numpy(np.array(cache.get(key)))
        best = min(best, time.perf_counter() - t0)
    return dict(
        images_per_s=len(keys) / best,
        mb_per_s=len(keys) * nbytes / MB / best,
        ms_per_image=1e3 * best / len(keys))


def cache_size(cache_dir: str) -> Dict:
    shards = osp.join(cache_dir, 'shards')
    shard_bytes = sum(
        osp.getsize(osp.join(shards, n)) for n in os.listdir(shards))
    index_bytes = osp.getsize(osp.join(cache_dir, INDEX_FILE))
    n = len(FeatureCache(cache_dir))
    return dict(
        images=n,
        bytes_per_image=(shard_bytes + index_bytes) / n,
        index_bytes_per_image=index_bytes / n)


def time_call(fn: Callable[[], object], repeats: int = 3) -> float:
    fn()  # warm-up
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def tiny_teacher():
    from mmengine.config import Config

    from esam3.registry import MODELS
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'models', 'sam3_tiny.py'))
    torch.manual_seed(0)
    return MODELS.build(cfg.teacher_cfg)


def bench_tiny(work: str, args) -> Dict:
    teacher = tiny_teacher()
    images = torch.randn(args.tiny_images, 3, 224, 224)

    def feature(i: int) -> np.ndarray:
        return teacher.encode_trunk(images[i:i + 1])[0].half().numpy()

    out = osp.join(work, 'tiny')
    write_s = write_cache(out, feature, args.tiny_images, shard_size=8)
    compute_s = time_call(lambda: teacher.encode_trunk(images[:1]),
                          args.repeats)
    shape = FeatureCache(out).feature_shape
    return dict(
        feature_shape=shape,
        **cache_size(out),
        write_ms_per_image=1e3 * write_s / args.tiny_images,
        read=read_speed(out, False, args.repeats),
        read_verified=read_speed(out, True, args.repeats),
        recompute_ms_per_image=1e3 * compute_s,
        recompute_images_per_s=1 / compute_s)


def bench_real_cache(work: str, args) -> Dict:
    rng = np.random.default_rng(0)
    base = rng.standard_normal(REAL_SHAPE).astype(np.float16)

    def feature(i: int) -> np.ndarray:
        return base + np.float16(i)

    out = osp.join(work, 'real')
    write_s = write_cache(out, feature, args.real_images, shard_size=4)
    return dict(
        feature_shape=list(REAL_SHAPE),
        **cache_size(out),
        write_ms_per_image=1e3 * write_s / args.real_images,
        read=read_speed(out, False, args.repeats),
        read_verified=read_speed(out, True, args.repeats))


def bench_real_trunk() -> Dict:
    from transformers import Sam3ViTConfig, Sam3ViTModel
    t0 = time.perf_counter()
    model = Sam3ViTModel(Sam3ViTConfig()).eval()
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    x = torch.randn(1, 3, 1008, 1008)
    with torch.no_grad():
        t0 = time.perf_counter()
        out = model(x).last_hidden_state
        forward_s = time.perf_counter() - t0
    return dict(
        params_m=params / 1e6,
        build_s=build_s,
        forward_s_per_image=forward_s,
        output=list(out.shape))


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        results = dict(
            machine=dict(
                platform=platform.platform(),
                cpu_count=os.cpu_count(),
                torch_threads=torch.get_num_threads(),
                torch=torch.__version__),
            tiny=bench_tiny(work, args),
            real_size_cache=bench_real_cache(work, args))
    if args.real_trunk:
        results['real_trunk'] = bench_real_trunk()
    report(results)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    return results


def report(r: Dict) -> None:
    tiny, real = r['tiny'], r['real_size_cache']
    print(f'machine: {r["machine"]}')
    for name, b in (('tiny', tiny), ('real-size', real)):
        print(f'[{name}] features {b["feature_shape"]} fp16: '
              f'{b["bytes_per_image"] / MB:.4f} MB/image on disk '
              f'(index {b["index_bytes_per_image"]:.0f} B/image), write '
              f'{b["write_ms_per_image"]:.2f} ms/image')
        for tag in ('read', 'read_verified'):
            s = b[tag]
            print(f'  {tag:13s}: {s["images_per_s"]:9.1f} images/s '
                  f'{s["mb_per_s"]:8.1f} MB/s ({s["ms_per_image"]:.3f} '
                  'ms/image)')
    gain = tiny['read']['images_per_s'] * tiny['recompute_ms_per_image'] / 1e3
    print(f'[tiny] recompute trunk: {tiny["recompute_ms_per_image"]:.2f} '
          f'ms/image ({tiny["recompute_images_per_s"]:.1f} images/s); cache '
          f'read is {gain:.1f}x faster')
    if 'real_trunk' in r:
        t = r['real_trunk']
        speedup = t['forward_s_per_image'] * real['read']['images_per_s']
        print(f'[real] SAM3 ViT ({t["params_m"]:.0f}M params, random '
              f'weights) at 1008 px: {t["forward_s_per_image"]:.1f} s/image;'
              f' cache read is {speedup:.0f}x faster')
    gb_per_m = real['bytes_per_image'] * 1e6 / 1e12
    print(f'[real] storage: {gb_per_m:.1f} TB per million images')


if __name__ == '__main__':
    main(sys.argv[1:])
