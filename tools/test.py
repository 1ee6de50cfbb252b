# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Evaluate a checkpoint with the test split of an esam3 config.

The checkpoint is loaded STRICTLY (:func:`esam3.utils.checkpoint.
load_student_checkpoint`): missing or unexpected keys are an error listing
them, never a silently half-loaded model.

Examples::

    python tools/test.py CONFIG CKPT --out results.pkl
    python tools/test.py CONFIG CKPT --show-dir vis
    bash tools/dist_test.sh CONFIG CKPT 8
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import esam3  # noqa: F401  (mmcv-lite shim before any mmdet import)
from esam3.engine import runner_utils as ru
from esam3.utils.checkpoint import (load_student_checkpoint,
                                    register_mmengine_safe_globals)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: arguments (default: ``sys.argv[1:]``).

    Returns:
        The parsed namespace.
    """
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Test an esam3 model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file, or "none" to evaluate the model as the '
        'config builds it (e.g. before fine-tuning)')
    parser.add_argument(
        '--work-dir',
        help='folder for logs and metrics '
        '(default: work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        help='dump the predictions to this pickle '
        'file (.pkl / .pickle)')
    parser.add_argument(
        '--show-dir',
        help='draw predictions into this '
        'folder (relative to work_dir/<timestamp>)')
    parser.add_argument(
        '--show', action='store_true', help='show the drawings in a window')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='score threshold for drawn instances')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def enable_visualization(cfg, show_dir: Optional[str], show: bool,
                         score_thr: float) -> None:
    """Switch the visualisation hook on for ``--show-dir`` / ``--show``.

    Args:
        cfg: the config, modified in place.
        show_dir: output folder for drawings.
        show: show windows.
        score_thr: score threshold.

    Raises:
        RuntimeError: the config has no ``default_hooks.visualization``.
    """
    if not show_dir and not show:
        return
    hooks = cfg.get('default_hooks', {}) or {}
    if 'visualization' not in hooks:
        raise RuntimeError(
            '--show-dir/--show need default_hooks.visualization (e.g. '
            "dict(type='Sam3VisualizationHook')) in the config")
    vis = hooks['visualization']
    vis['draw'] = True
    vis['score_thr'] = score_thr
    if show:
        vis['show'] = True
        vis['wait_time'] = 2
    if show_dir:
        vis['test_out_dir'] = show_dir


def add_dump_metric(cfg, out: str) -> None:
    """Append mmengine's ``DumpResults`` metric to the test evaluator.

    Args:
        cfg: the config, modified in place.
        out: output pickle path.
    """
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must end with .pkl or .pickle, got {out}')
    dump = dict(type='DumpResults', out_file_path=out)
    evaluator = cfg.get('test_evaluator', None)
    if evaluator is None:
        cfg.test_evaluator = [dump]
    elif isinstance(evaluator, (list, tuple)):
        cfg.test_evaluator = list(evaluator) + [dump]
    elif 'metrics' in evaluator:
        metrics = evaluator['metrics']
        metrics = list(metrics) if isinstance(metrics, (list, tuple)) \
            else [metrics]
        evaluator['metrics'] = metrics + [dump]
    else:
        cfg.test_evaluator = [evaluator, dump]


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point: load the checkpoint strictly and run the test loop.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The metrics dict.
    """
    from mmengine.model import is_model_wrapper
    args = parse_args(argv)
    register_mmengine_safe_globals()
    no_ckpt = args.checkpoint == 'none'
    if not no_ckpt and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')

    cfg = ru.load_config(args.config)
    ru.merge_cli_options(cfg, args.cfg_options)
    cfg.work_dir = ru.work_dir_from_config(cfg, args.config, args.work_dir)
    # The runner must not load (mmengine's loading is non-strict): we do.
    cfg.load_from = None
    cfg.resume = False
    enable_visualization(cfg, args.show_dir, args.show, args.score_thr)
    if args.out:
        add_dump_metric(cfg, args.out)
    ru.check_data_roots(cfg, args.config, ['test_dataloader'])

    ru.setup_launcher(cfg, args.launcher)
    runner = ru.build_runner(cfg, args.config)
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    if no_ckpt:  # e.g. 'before' of a fine-tune: the weights the config
        # builds (pretrained= folders, or random for tiny configs)
        runner.logger.warning('checkpoint "none": evaluating the model as '
                              'the config builds it')
    else:
        load_student_checkpoint(
            model,
            args.checkpoint,
            strict=True,
            map_location='cpu',
            logger=runner.logger)
        runner.logger.info(f'Loaded checkpoint {args.checkpoint} (strict)')
    return ru.run_stage(runner, 'test', args.config)


if __name__ == '__main__':
    main()
