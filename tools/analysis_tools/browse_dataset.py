# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Draw what a config's dataset pipeline feeds the model, to image files.

Any esam3 dataset type works (SA-1B, COCO, SA-Co images and video, SA-V,
DAVIS, and ``ConcatDataset`` mixes of them): GT masks and boxes, the
mask-centre point prompts, exemplar boxes and the noun phrase (see
:mod:`esam3.visualization.sample_drawing`); video clips are tiled.

Examples::

    python tools/analysis_tools/browse_dataset.py configs/stage1/tiny.py \\
        --output-dir work_dirs/browse --max-samples 8
    python tools/analysis_tools/browse_dataset.py configs/stage3/tiny.py \\
        --split val --output-dir work_dirs/browse_val
"""
import argparse
import copy
import os
import os.path as osp
import sys
from typing import List, Optional

import cv2
import numpy as np
from mmengine.config import DictAction

import esam3  # noqa: F401  (mmcv-lite shim before any mmdet import)

SPLITS = ('train', 'val', 'test')
WRAPPERS = ('CachedTeacherFeatureDataset', 'esam3.CachedTeacherFeatureDataset')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Draw the pipeline output of a config\'s dataset')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--output-dir',
        required=True,
        help='folder for the drawn samples (created)')
    parser.add_argument(
        '--split',
        choices=SPLITS,
        default='train',
        help='which <split>_dataloader.dataset (default '
        'train)')
    parser.add_argument(
        '--max-samples',
        type=int,
        default=20,
        help='draw the first N samples (default 20)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='numpy seed for the random augmentations')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs')
    return parser.parse_args(argv)


def build_dataset(cfg, split: str):
    """The split's dataset; a teacher-feature cache wrapper is removed (it only
    adds features, and needs the cache)."""
    from esam3.registry import DATASETS
    loader = cfg.get(f'{split}_dataloader', None)
    if not loader or 'dataset' not in loader:
        raise KeyError(f'config has no {split}_dataloader.dataset')
    dataset = copy.deepcopy(loader['dataset'])
    while dataset.get('type') in WRAPPERS:
        dataset = dataset['dataset']
    return DATASETS.build(dataset)


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Entry point; returns the written files."""
    from esam3.engine import runner_utils as ru
    from esam3.utils.setup_env import register_all_modules
    from esam3.visualization.sample_drawing import (draw_packed_sample,
                                                    sample_name)

    args = parse_args(argv)
    if args.max_samples < 1:
        raise ValueError(f'--max-samples must be >= 1, got '
                         f'{args.max_samples}')
    register_all_modules()
    cfg = ru.load_config(args.config)
    ru.merge_cli_options(cfg, args.cfg_options)
    ru.check_data_roots(cfg, args.config, [f'{args.split}_dataloader'])
    np.random.seed(args.seed)
    dataset = build_dataset(cfg, args.split)
    os.makedirs(args.output_dir, exist_ok=True)
    written = []
    for idx in range(min(args.max_samples, len(dataset))):
        sample = dataset[idx]
        drawn = draw_packed_sample(sample)
        path = osp.join(args.output_dir,
                        f'{args.split}_{idx:04d}_{sample_name(sample)}.png')
        if not cv2.imwrite(path, drawn[..., ::-1]):
            raise OSError(f'cannot write {path}')
        written.append(path)
    print(f'{len(written)} of {len(dataset)} {args.split} samples of '
          f'{type(dataset).__name__} drawn to {args.output_dir}')
    return written


if __name__ == '__main__':
    main(sys.argv[1:])
