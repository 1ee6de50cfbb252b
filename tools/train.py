# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Train an esam3 stage from an mmengine config.

Examples::

    python tools/train.py configs/stage1/tiny.py
    python tools/train.py CONFIG --work-dir work_dirs/x --amp --resume
    python tools/train.py CONFIG --tensorboard   # + TensorBoard event files
    bash tools/dist_train.sh CONFIG 8 --auto-scale-lr

One run per work dir: a lock file (``<work-dir>/.esam3_train.lock``, pid and
host) refuses a second run while the first is alive; a killed run's lock is
taken over. ``--resume`` picks the newest checkpoint of the work dir that
is intact (a file cut short by a kill during the save is skipped with a
warning), resolving ``last_checkpoint`` relative to the work dir. Hook
arguments are checked against the hooks before the runner is built.
"""
import argparse
import os
from typing import List, Optional

import esam3  # noqa: F401  (mmcv-lite shim before any mmdet import)
from esam3.engine import runner_utils as ru
from esam3.engine.hook_checks import check_hook_args
from esam3.engine.work_dir import WorkDirLock
from esam3.utils.checkpoint import register_mmengine_safe_globals


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: arguments (default: ``sys.argv[1:]``).

    Returns:
        The parsed namespace.
    """
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Train an esam3 model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='folder for logs and checkpoints '
        '(default: work_dirs/<config name>)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (CUDA only)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale lr by the actual total batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the latest checkpoint in the work dir (no value '
        'or "auto") or from the given checkpoint path')
    parser.add_argument(
        '--tensorboard',
        action='store_true',
        help='also write TensorBoard event files (mmengine '
        'TensorboardVisBackend) under <work-dir>/<timestamp>/vis_data')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'train_cfg.max_iters=100 model.student.backbone.type=Foo')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local_rank / --local-rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv: Optional[List[str]] = None):
    """Entry point: build the runner from the config and train.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The trained model (``runner.train()``'s result).
    """
    args = parse_args(argv)
    register_mmengine_safe_globals()

    cfg = ru.load_config(args.config)
    ru.merge_cli_options(cfg, args.cfg_options)
    cfg.work_dir = ru.work_dir_from_config(cfg, args.config, args.work_dir)
    if args.amp:
        ru.enable_amp(cfg)
    if args.auto_scale_lr:
        ru.enable_auto_scale_lr(cfg)
    if args.tensorboard:
        ru.enable_tensorboard(cfg)
    check_hook_args(cfg, args.config)

    loaders = ['train_dataloader']
    if cfg.get('val_cfg') and cfg.get('val_dataloader') and \
            cfg.get('val_evaluator'):
        loaders.append('val_dataloader')
    ru.check_data_roots(cfg, args.config, loaders)

    # rank 0 holds the work dir (the other ranks of the same run share it)
    lock = WorkDirLock(cfg.work_dir, resume=args.resume is not None)
    if ru.launcher_rank() == 0:
        lock.acquire()
    try:
        ru.apply_resume(cfg, args.resume)
        ru.setup_launcher(cfg, args.launcher)
        runner = ru.build_runner(cfg, args.config)
        return ru.run_stage(runner, 'train', args.config)
    finally:
        lock.release()


if __name__ == '__main__':
    main()
