# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Helpers shared by ``tools/train.py`` and ``tools/test.py``.

They turn an mmengine config plus command-line switches into a ready
:class:`mmengine.runner.Runner`, with three esam3-specific behaviours:

* CPU runs work out of the box, single process or distributed: without CUDA
  the ``nccl`` backend is replaced by ``gloo``, the process group is created
  here (mmengine's launcher helpers call ``torch.cuda.set_device``) and DDP
  is built without ``device_ids``.
* Configs that name an unregistered type fail with
  :class:`UnknownTypeError`, naming the type, the registry and the config.
* Missing ``data_root`` folders fail early with ``FileNotFoundError``
  naming the folder, the dataloader and the config.
"""
import os
import os.path as osp
import re
import subprocess
from typing import Any, Iterable, List, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.utils import import_modules_from_strings

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_NOT_IN_REGISTRY = re.compile(
    r'[`\'"]?([\w.:-]+)[`\'"]? is not in the (.+?) registry')


class UnknownTypeError(KeyError):
    """A config names a ``type`` that no registry in scope knows."""

    def __init__(self, message: str, type_name: str = '') -> None:
        super().__init__(message)
        self.message = message
        self.type_name = type_name

    def __str__(self) -> str:
        return self.message


def work_dir_from_config(cfg: Config,
                         config_path: str,
                         work_dir: Optional[str] = None) -> str:
    """Resolve the work directory (CLI > config > ``work_dirs/<stem>``).

    Args:
        cfg: the loaded config.
        config_path: path of the config file.
        work_dir: value of ``--work-dir``.

    Returns:
        The work directory.
    """
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir', None) is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def _dataset_roots(dataset: Any, where: str) -> Iterable[Tuple[str, str]]:
    """Yield ``(data_root, location)`` of a dataset config and its children
    (``ConcatDataset.datasets``, ``RepeatDataset.dataset``, ...)."""
    if isinstance(dataset, dict):
        root = dataset.get('data_root', None)
        if isinstance(root, str) and root:
            yield root, where
        child = dataset.get('dataset', None)
        if child is not None:
            yield from _dataset_roots(child, f'{where}.dataset')
        children = dataset.get('datasets', None)
        if isinstance(children, (list, tuple)):
            for i, c in enumerate(children):
                yield from _dataset_roots(c, f'{where}.datasets[{i}]')


def check_data_roots(cfg: Config,
                     config_path: str,
                     loaders: Iterable[str] = DATALOADER_KEYS) -> None:
    """Fail early when a dataloader's ``data_root`` folder is missing.

    Args:
        cfg: the loaded config.
        config_path: config file, named in the error.
        loaders: dataloader keys to check (``train_dataloader`` ...).

    Raises:
        FileNotFoundError: naming the missing path, where it is configured
            and the config file.
    """
    for key in loaders:
        loader = cfg.get(key, None)
        if not isinstance(loader, dict):
            continue
        for root, where in _dataset_roots(
                loader.get('dataset'), f'{key}.dataset'):
            if '://' in root:  # remote storage (petrel, s3, http)
                continue
            if not osp.exists(osp.expanduser(root)):
                raise FileNotFoundError(
                    f'data root "{root}" (set in {where}.data_root of config '
                    f'{config_path}) does not exist. Download or link the '
                    'dataset there, or override it, e.g. --cfg-options '
                    f'{where}.data_root=/path/to/data')


def unknown_type_error(exc: BaseException,
                       config_path: str) -> Optional[UnknownTypeError]:
    """Translate mmengine's "X is not in the ... registry" error.

    mmengine raises ``KeyError`` (possibly re-wrapped by the builder of an
    enclosing module) for an unregistered ``type``.

    Args:
        exc: the exception raised while building or running.
        config_path: config file, named in the error.

    Returns:
        A clearer :class:`UnknownTypeError`, or None when ``exc`` is not an
        unknown-type error.
    """
    if isinstance(exc, UnknownTypeError):
        return exc
    text = str(exc.args[0]) if exc.args else str(exc)
    match = _NOT_IN_REGISTRY.search(text)
    if match is None:
        return None
    type_name, registry = match.group(1), match.group(2)
    short = type_name.split('.')[-1]
    return UnknownTypeError(
        f'config {config_path} uses unknown type "{type_name}": it is not in '
        f'the {registry} registry. Check the spelling of type="{type_name}", '
        'that its module is imported (an esam3 registry "locations" entry or '
        f'custom_imports), or prefix another scope ("mmdet.{short}"). '
        f'Original error: {text}', type_name)


def use_cpu_fallbacks(cfg: Config) -> bool:
    """Adapt a config to a machine without CUDA.

    Switches ``env_cfg.dist_cfg.backend`` from ``nccl`` to ``gloo`` and,
    for distributed runs, makes DDP use no ``device_ids`` (mmengine passes
    ``[LOCAL_RANK]``, which DDP rejects for CPU modules).

    Args:
        cfg: the config, modified in place.

    Returns:
        True if CUDA is unavailable (and the fallbacks were applied).
    """
    if torch.cuda.is_available():
        return False
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    if cfg.get('launcher', 'none') != 'none':
        wrapper = cfg.get('model_wrapper_cfg', None)
        if wrapper is None:
            wrapper = ConfigDict(
                type='MMDistributedDataParallel',
                broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters',
                                               False))
        wrapper.setdefault('device_ids', None)
        cfg.model_wrapper_cfg = wrapper
    return True


def _slurm_master_addr(node_list: str) -> str:
    try:
        out = subprocess.getoutput(f'scontrol show hostname {node_list}')
        return out.splitlines()[0].strip() or '127.0.0.1'
    except (OSError, IndexError):
        return '127.0.0.1'


def init_cpu_distributed(launcher: str,
                         backend: str = 'gloo',
                         timeout_s: int = 1800) -> None:
    """Create the process group for CPU training.

    Reads the rank layout from the launcher's environment: ``torchrun``
    (``RANK``/``WORLD_SIZE``/``LOCAL_RANK``), Slurm (``SLURM_PROCID``,
    ``SLURM_NTASKS``, ``SLURM_LOCALID``, master = first host of
    ``SLURM_NODELIST``) or Open MPI (``OMPI_COMM_WORLD_*``). ``MASTER_PORT``
    defaults to 29500 and ``MASTER_ADDR`` to 127.0.0.1.

    Args:
        launcher: ``pytorch``, ``slurm`` or ``mpi``.
        backend: process-group backend.
        timeout_s: collective timeout in seconds.
    """
    import datetime

    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return
    env = os.environ
    if launcher == 'slurm':
        env['RANK'] = env['SLURM_PROCID']
        env['WORLD_SIZE'] = env['SLURM_NTASKS']
        env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
        env.setdefault('MASTER_ADDR',
                       _slurm_master_addr(env.get('SLURM_NODELIST', '')))
    elif launcher == 'mpi':
        env['RANK'] = env['OMPI_COMM_WORLD_RANK']
        env['WORLD_SIZE'] = env['OMPI_COMM_WORLD_SIZE']
        env['LOCAL_RANK'] = env.get('OMPI_COMM_WORLD_LOCAL_RANK', '0')
    elif launcher != 'pytorch':
        raise ValueError(f'unknown launcher "{launcher}"')
    env.setdefault('MASTER_ADDR', '127.0.0.1')
    env.setdefault('MASTER_PORT', '29500')
    env.setdefault('LOCAL_RANK', '0')
    dist.init_process_group(
        backend=backend,
        rank=int(env['RANK']),
        world_size=int(env['WORLD_SIZE']),
        timeout=datetime.timedelta(seconds=timeout_s))


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Record the launcher and, without CUDA, prepare CPU distribution.

    Args:
        cfg: the config, modified in place.
        launcher: ``none``, ``pytorch``, ``slurm`` or ``mpi``.
    """
    cfg.launcher = launcher
    on_cpu = use_cpu_fallbacks(cfg)
    if on_cpu and launcher != 'none':
        backend = cfg.env_cfg.dist_cfg.get('backend', 'gloo')
        init_cpu_distributed(launcher, backend=backend)


def enable_amp(cfg: Config) -> None:
    """Switch the optimiser wrapper to ``AmpOptimWrapper`` (``--amp``).

    mmengine's AMP wrapper needs an accelerator; on CPU the switch is
    skipped with a warning so the same command works everywhere.

    Args:
        cfg: the config, modified in place.
    """
    if not torch.cuda.is_available():
        print_log(
            '--amp ignored: AmpOptimWrapper needs CUDA; training in '
            'fp32 on CPU',
            logger='current',
            level=30)
        return
    optim_wrapper = cfg.optim_wrapper
    if optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
        print_log('AMP is already enabled in the config', logger='current')
        return
    if optim_wrapper.get('type', 'OptimWrapper') != 'OptimWrapper':
        raise ValueError('--amp needs optim_wrapper.type OptimWrapper, got '
                         f'{optim_wrapper.type}')
    optim_wrapper.type = 'AmpOptimWrapper'
    optim_wrapper.setdefault('loss_scale', 'dynamic')


def enable_auto_scale_lr(cfg: Config) -> None:
    """Turn on ``auto_scale_lr`` (``--auto-scale-lr``).

    Args:
        cfg: the config, modified in place.

    Raises:
        RuntimeError: the config has no ``auto_scale_lr.base_batch_size``.
    """
    scale = cfg.get('auto_scale_lr', None)
    if not scale or 'base_batch_size' not in scale:
        raise RuntimeError('--auto-scale-lr needs auto_scale_lr = dict('
                           'base_batch_size=...) in the config (the schedules '
                           'in configs/_base_/schedules define it)')
    scale.enable = True


def apply_resume(cfg: Config, resume: Optional[str]) -> None:
    """Map ``--resume`` (``None`` / ``'auto'`` / a path) onto the config.

    ``auto`` resumes from the newest intact checkpoint of ``cfg.work_dir``
    (:func:`~esam3.engine.work_dir.find_resume_checkpoint`: the file named
    in ``last_checkpoint``, resolved relative to the work dir, else the
    highest ``iter_N.pth`` / ``epoch_N.pth``; truncated ones are skipped
    with a warning); a path resumes from that file.

    Args:
        cfg: the config (``work_dir`` set), modified in place.
        resume: the CLI value.

    Raises:
        FileNotFoundError: an explicit path does not exist.
        CorruptCheckpointError: an explicit path is truncated or empty, or
            the work dir has checkpoints but none is intact.
    """
    from esam3.utils.checkpoint import check_checkpoint_file
    from .work_dir import find_resume_checkpoint
    if resume is None:
        return
    cfg.resume = True
    if resume == 'auto':
        # mmengine would load the absolute path in last_checkpoint as is
        cfg.load_from = find_resume_checkpoint(cfg.work_dir)
        return
    if '://' not in resume:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {resume}')
        check_checkpoint_file(resume)  # names a truncated / empty file
    cfg.load_from = resume


def enable_tensorboard(cfg: Config) -> None:
    """Add mmengine's ``TensorboardVisBackend`` to the visualizer
    (``--tensorboard``); scalars then also go to TensorBoard event files under
    ``<work_dir>/<timestamp>/vis_data``.

    Args:
        cfg: the config, modified in place.

    Raises:
        ImportError: TensorBoard is not installed (says what to install).
    """
    try:
        import tensorboard  # noqa: F401
    except ImportError as err:
        raise ImportError('--tensorboard needs the tensorboard package: '
                          'pip install tensorboard') from err
    visualizer = cfg.setdefault('visualizer',
                                ConfigDict(type='Sam3Visualizer'))
    backends = list(
        visualizer.get('vis_backends', None) or [dict(type='LocalVisBackend')])
    if not any(
            str(b.get('type', '')).split('.')[-1] == 'TensorboardVisBackend'
            for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))
    visualizer.vis_backends = backends


def launcher_rank() -> int:
    """This process' global rank from the launcher's environment (0 for a
    single process): ``RANK`` (torchrun), ``SLURM_PROCID`` or
    ``OMPI_COMM_WORLD_RANK``."""
    for key in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if os.environ.get(key, '').isdigit():
            return int(os.environ[key])
    return 0


def build_runner(cfg: Config, config_path: str):
    """Build the runner (``Runner.from_cfg`` or ``RUNNERS`` for
    ``runner_type``), translating unknown-type errors.

    Args:
        cfg: the final config.
        config_path: config file, named in errors.

    Returns:
        The runner.
    """
    from mmengine.runner import Runner

    from esam3.registry import RUNNERS
    try:
        if 'runner_type' not in cfg:
            return Runner.from_cfg(cfg)
        return RUNNERS.build(cfg)
    except KeyError as exc:
        clear = unknown_type_error(exc, config_path)
        if clear is None:
            raise
        raise clear from exc


def run_stage(runner, stage: str, config_path: str):
    """Call ``runner.train()`` / ``runner.test()`` translating the unknown-type
    errors of lazily built parts (dataloaders, loops, metrics).

    Args:
        runner: the runner.
        stage: ``'train'``, ``'val'`` or ``'test'``.
        config_path: config file, named in errors.

    Returns:
        What the runner method returns.
    """
    try:
        result = getattr(runner, stage)()
    except KeyError as exc:
        shutdown_distributed(wait_for_others=False)
        clear = unknown_type_error(exc, config_path)
        if clear is None:
            raise
        raise clear from exc
    except BaseException:
        shutdown_distributed(wait_for_others=False)
        raise
    shutdown_distributed()
    return result


def shutdown_distributed(wait_for_others: bool = True) -> None:
    """Leave the process group, if any, before the interpreter exits.

    A rank that exits while another still talks to it (e.g. results being
    gathered to rank 0) makes the other abort in gloo ("terminate called
    without an active exception"), turning a finished ``dist_train.sh`` /
    ``dist_test.sh`` run into a failure. So every rank waits for the others
    (a barrier) and then destroys the group.

    Args:
        wait_for_others (bool): Barrier first. False after an error (the
            other ranks may never arrive). Defaults to True.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        if wait_for_others:
            dist.barrier()
        dist.destroy_process_group()


def merge_cli_options(cfg: Config, options: Optional[dict]) -> None:
    """Merge ``--cfg-options`` into the config.

    Args:
        cfg: the config, modified in place.
        options: parsed ``DictAction`` output.
    """
    if options:
        cfg.merge_from_dict(options)


def load_config(config_path: str) -> Config:
    """``Config.fromfile`` with a clear error for a missing file, without yapf
    re-formatting.

    Args:
        config_path: config file.

    Returns:
        The config.
    """
    if not osp.isfile(config_path):
        raise FileNotFoundError(f'config file not found: {config_path}')
    # No yapf formatting of the dumped/logged config text: on the nested
    # SAM3 configs it costs ~13 s per call and mmengine's Runner calls it
    # about five times per run. The text stays valid Python.
    cfg = Config.fromfile(config_path, format_python_code=False)
    # mmengine imports ``custom_imports`` itself only for old-style
    # (``_base_``) configs; new-style (``read_base``) ones, as shipped in
    # configs/, get the same here
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    return cfg


__all__: List[str] = [
    'UnknownTypeError', 'apply_resume', 'build_runner', 'check_data_roots',
    'enable_amp', 'enable_auto_scale_lr', 'enable_tensorboard',
    'init_cpu_distributed', 'launcher_rank', 'load_config',
    'merge_cli_options', 'run_stage', 'setup_launcher', 'shutdown_distributed',
    'unknown_type_error', 'use_cpu_fallbacks', 'work_dir_from_config'
]
