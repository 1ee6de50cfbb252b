# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Run a config's teacher over its train dataset and cache the trunk features
(fp16, sharded .npy, resumable, one shard series per rank).

Examples::

    python tools/cache_teacher_features.py configs/stage1/repvit_m1_1.py \\
        --out data/cache/sa1b_sam3 --shard-size 64
    python tools/cache_teacher_features.py CONFIG --out DIR --resume
    torchrun --nproc_per_node 8 tools/cache_teacher_features.py CONFIG \\
        --out DIR --launcher pytorch

The images go through the TEST-TIME deterministic pipeline (``cache_pipeline``
if the config defines one, else ``test_pipeline``, else the test
dataloader's): resize + pad, no random geometry. See docs/feature_cache.md.
"""
import argparse
import copy
import json
import os.path as osp
import re
import sys
import time
from typing import Callable, List, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader

import esam3  # noqa: F401  (mmcv-lite shim before any mmdet import)
from esam3.datasets.feature_cache import FeatureCacheWriter, merge_rank_indices

DEFAULT_PREPROCESSOR = dict(type='Sam3DataPreprocessor')
AUG_KEYS = ('img_shape', 'ori_shape', 'pad_shape', 'scale_factor', 'flip',
            'flip_direction')
RANDOM_TYPE = re.compile(r'random', re.IGNORECASE)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='Cache teacher trunk '
                                     'features of a config\'s train set')
    parser.add_argument(
        'config', help='config with a teacher and a '
        'train_dataloader')
    parser.add_argument('--out', required=True, help='cache directory')
    parser.add_argument(
        '--shard-size',
        type=int,
        default=64,
        help='images per shard file (default 64)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='images per teacher forward (default 1)')
    parser.add_argument(
        '--num-workers',
        type=int,
        default=0,
        help='data loading workers (default 0)')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='continue a killed run: verified shards are '
        'kept, the rest is recomputed')
    parser.add_argument(
        '--device', default=None, help='default: cuda if available, else cpu')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed set before building the teacher (only '
        'matters for randomly initialised test teachers)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


# ------------------------------------------------------------------ config
def teacher_config(cfg) -> dict:
    """``cfg.model.teacher`` or ``cfg.teacher``."""
    model = cfg.get('model') or {}
    teacher = model.get('teacher') if isinstance(model, dict) else None
    teacher = teacher or cfg.get('teacher')
    if not teacher:
        raise KeyError('config has no teacher (model.teacher or teacher)')
    return copy.deepcopy(teacher)


def cache_pipeline(cfg) -> list:
    """The deterministic pipeline used for caching.

    Raises:
        ValueError: when it holds a random transform (names it).
    """
    pipeline = cfg.get('cache_pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        pipeline = cfg.get('test_dataloader', {}).get('dataset',
                                                      {}).get('pipeline')
    if not pipeline:
        raise KeyError('config has no cache_pipeline / test_pipeline')
    for step in pipeline:
        name = str(step.get('type', ''))
        if RANDOM_TYPE.search(name.split('.')[-1]):
            raise ValueError(
                f'cache pipeline step {name} is random: cached features need '
                'a deterministic geometry (define cache_pipeline in the '
                'config)')
    return copy.deepcopy(pipeline)


def build_cache_dataset(cfg):
    """The train dataset with the cache pipeline (a cache wrapper around it, if
    the config already uses one, is removed)."""
    from esam3.registry import DATASETS
    dataset = copy.deepcopy(cfg.train_dataloader.dataset)
    while dataset.get('type') in ('CachedTeacherFeatureDataset',
                                  'esam3.CachedTeacherFeatureDataset'):
        dataset = dataset['dataset']
    dataset['pipeline'] = cache_pipeline(cfg)
    return DATASETS.build(dataset)


def build_preprocessor(cfg):
    from esam3.registry import MODELS
    model = cfg.get('model') or {}
    pre = model.get('data_preprocessor') if isinstance(model, dict) else None
    return MODELS.build(copy.deepcopy(pre or DEFAULT_PREPROCESSOR))


# ------------------------------------------------------------------ samples
def sample_key(meta: dict) -> str:
    if 'img_id' not in meta:
        raise KeyError('samples need metainfo "img_id" to be cached')
    return str(meta['img_id'])


def _jsonable(value):
    if isinstance(value, (np.generic, )):
        return value.item()
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_jsonable(v) for v in value]
    return value


def aug_params(meta: dict) -> dict:
    """Geometric parameters of one packed sample (flip defaults False)."""
    aug = {k: _jsonable(meta[k]) for k in AUG_KEYS if k in meta}
    aug.setdefault('flip', False)
    aug.setdefault('flip_direction', None)
    return aug


def _collate(batch):
    return batch


def encode_batch(samples: List[dict], teacher, preprocessor,
                 device: torch.device) -> np.ndarray:
    """Packed samples -> teacher trunk ``[B, C, h, w]`` float16 numpy."""
    from mmengine.dataset import pseudo_collate
    data = preprocessor(pseudo_collate(samples), False)
    with torch.no_grad():
        trunk = teacher.encode_trunk(data['inputs'].to(device))
    return trunk.to(torch.float16).cpu().numpy()


# -------------------------------------------------------------------- core
def cache_rank(dataset,
               teacher,
               preprocessor,
               out_dir: str,
               rank: int = 0,
               world_size: int = 1,
               shard_size: int = 64,
               resume: bool = False,
               batch_size: int = 1,
               num_workers: int = 0,
               device: Optional[torch.device] = None,
               meta: Optional[dict] = None,
               after_shard: Optional[Callable[[int], None]] = None) -> dict:
    """Cache this rank's images (``i % world_size == rank``).

    Args:
        dataset: yields packed samples (``inputs``, ``data_samples``).
        teacher: module with ``encode_trunk(pixel_values)``.
        preprocessor: the model's data preprocessor.
        out_dir: cache directory.
        after_shard: called with the shard number after each shard is
            written (progress reporting; tests use it to simulate a kill).

    Returns:
        This rank's index.
    """
    device = device or torch.device('cpu')
    teacher = teacher.to(device).eval()
    preprocessor = preprocessor.to(device)
    indices = list(range(rank, len(dataset), world_size))
    shards = [
        indices[i:i + shard_size] for i in range(0, len(indices), shard_size)
    ]
    writer = FeatureCacheWriter(
        out_dir,
        rank,
        world_size,
        shard_size,
        num_items=len(indices),
        resume=resume,
        meta=meta)
    done = set(writer.done_shards())
    for k, shard in enumerate(shards):
        if k in done:
            continue
        loader = DataLoader(
            torch.utils.data.Subset(dataset, shard),
            batch_size=batch_size,
            shuffle=False,
            num_workers=num_workers,
            collate_fn=_collate)
        keys, augs, feats = [], [], []
        for batch in loader:
            for sample in batch:
                meta_i = sample['data_samples'].metainfo
                keys.append(sample_key(meta_i))
                augs.append(aug_params(meta_i))
            feats.append(encode_batch(batch, teacher, preprocessor, device))
        writer.write_shard(k, keys, np.concatenate(feats), augs)
        if after_shard is not None:
            after_shard(k)
    return writer.finish()


def main(argv: Optional[List[str]] = None) -> Optional[dict]:
    """Entry point; returns the merged index on rank 0."""
    from mmengine.dist import barrier, get_dist_info, init_dist
    from mmengine.logging import MMLogger

    from esam3.engine import runner_utils as ru
    from esam3.registry import MODELS
    from esam3.utils.setup_env import register_all_modules

    args = parse_args(argv)
    register_all_modules()
    if args.launcher != 'none':
        init_dist(args.launcher)
    rank, world_size = get_dist_info()
    logger = MMLogger.get_instance('cache_teacher_features')
    cfg = ru.load_config(args.config)
    device = torch.device(
        args.device or (f'cuda:{torch.cuda.current_device()}'
                        if torch.cuda.is_available() else 'cpu'))
    teacher_cfg = teacher_config(cfg)
    dataset = build_cache_dataset(cfg)
    meta = dict(
        config=osp.abspath(args.config),
        teacher=json.loads(json.dumps(teacher_cfg, default=str)),
        pipeline=json.loads(json.dumps(cache_pipeline(cfg), default=str)),
        dataset_len=len(dataset),
        seed=args.seed,
        torch=torch.__version__)
    torch.manual_seed(args.seed)
    teacher = MODELS.build(teacher_cfg)
    start = time.time()
    index = cache_rank(
        dataset,
        teacher,
        build_preprocessor(cfg),
        args.out,
        rank,
        world_size,
        args.shard_size,
        args.resume,
        args.batch_size,
        args.num_workers,
        device,
        meta,
        after_shard=lambda k: logger.info(
            f'rank {rank}: shard {k} written ({time.time() - start:.1f} s)'))
    logger.info(f'rank {rank}: {len(index["entries"])} images cached')
    if world_size > 1:
        barrier()
    if rank == 0:
        merged = merge_rank_indices(args.out, world_size)
        logger.info(f'{args.out}: {len(merged["entries"])} images, features '
                    f'{merged["feature_shape"]} float16')
        return merged
    return None


if __name__ == '__main__':
    main(sys.argv[1:])
