# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""What users run: every shipped config builds its datasets on a mirror of
the official data layouts, and every switch in which a shipped (real-size)
config differs from its tiny twin is exercised.

The real-size training / evaluation runs themselves live in
``test_real_size_runs.py``.
"""
import glob
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from esam3.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SPLITS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
CONFIGS = sorted(
    osp.relpath(p, osp.join(REPO, 'configs'))
    for p in glob.glob(osp.join(REPO, 'configs', 'stage*', '*.py')))
# the real-size config of each stage and its tiny twin
TWINS = {
    'stage1': ('stage1/repvit_m1_1.py', 'stage1/tiny.py'),
    'stage2': ('stage2/repvit_m1_1.py', 'stage2/tiny.py'),
    'stage3': ('stage3/repvit_m1_1_mixed.py', 'stage3/tiny.py'),
}


@pytest.fixture(scope='module')
def mirror(tmp_path_factory):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'make_real_layout_mirror',
        osp.join(REPO, 'tools', 'dataset_converters',
                 'make_real_layout_mirror.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_mirror(str(tmp_path_factory.mktemp('mirror')))


def _is_tiny(config: str) -> bool:
    name = osp.basename(config)
    return name == 'tiny.py' or name.startswith('tiny_')


def test_mirror_has_the_official_names(mirror):
    data = osp.join(mirror, 'data')
    for rel in ('sa1b/astronaut.jpg', 'sa1b/astronaut.json',
                'sav/sav_train/sav_000/sav_000001.mp4',
                'sav/sav_train/sav_000/sav_000001_manual.json',
                'sav/sav_val/sav_val.txt',
                'sav/sav_val/JPEGImages_24fps/sav_000001/00047.jpg',
                'sav/sav_val/Annotations_6fps/sav_000001/000/00044.png',
                'saco/annotations/train.json',
                'saco/annotations/gold_metaclip_merged_a_test.json',
                'saco/images/metaclip/chelsea.jpg',
                'saco_video/annotations/train.json',
                'saco_video/JPEGImages/carphone/00000.jpg',
                'coco/annotations/instances_train2017.json',
                'coco/annotations/instances_val2017.json',
                'coco/val2017/voc.jpg', 'coco/train2017/voc.jpg',
                'davis/ImageSets/2017/val.txt'):
        assert osp.isfile(osp.join(data, rel)), rel
    # SA-V val: every 24 fps frame, masks on every 4th one only
    frames = os.listdir(
        osp.join(data, 'sav/sav_val/JPEGImages_24fps/sav_000001'))
    masks = os.listdir(
        osp.join(data, 'sav/sav_val/Annotations_6fps/sav_000001/000'))
    assert len(frames) == 48 and len(masks) == 12
    assert sorted(int(m[:5]) for m in masks) == list(range(0, 48, 4))


_BUILT: set = set()


@pytest.mark.parametrize('config', CONFIGS)
def test_every_config_builds_its_datasets(config, mirror, monkeypatch):
    """Real configs read ``data/...`` (the mirror), tiny ones the bundled
    samples (repository root); each split builds and yields a sample."""
    monkeypatch.chdir(REPO if _is_tiny(config) else mirror)
    init_default_scope('esam3')
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    built = 0
    for split in SPLITS:
        loader = cfg.get(split)
        if loader is None:
            continue
        # students share their datasets: a dataset config built once on the
        # same data is not built again
        key = (os.getcwd(), repr(loader.dataset.to_dict()))
        if key not in _BUILT:
            dataset = DATASETS.build(loader.dataset)
            assert len(dataset) > 0, (config, split)
            sample = dataset[0]
            assert 'inputs' in sample and 'data_samples' in sample, (config,
                                                                     split)
            _BUILT.add(key)
        built += 1
    assert built == 3, f'{config}: expected train/val/test dataloaders'


# ------------------------------------------------------------- switches
def _loader_switches(loader: dict) -> dict:
    return dict(
        batch_size=loader.get('batch_size'),
        num_workers=loader.get('num_workers', 0),
        persistent_workers=loader.get('persistent_workers', False),
        sampler=loader.get('sampler', {}).get('type'))


def _switches(cfg: Config) -> dict:
    """The run switches a real config may set differently from its twin."""
    student = cfg.model.student
    with_cp = student.get('with_cp', False)
    video = student.get('video') or {}
    with_cp = with_cp or video.get('with_cp', False)
    switches = dict(
        with_cp=bool(with_cp),
        accumulative_counts=cfg.optim_wrapper.get('accumulative_counts', 1),
        optim_wrapper=cfg.optim_wrapper.get('type', 'OptimWrapper'),
        clip_grad=cfg.optim_wrapper.get('clip_grad') is not None)
    for split in SPLITS:
        for key, value in _loader_switches(cfg[split]).items():
            switches[f'{split}.{key}'] = value
    return switches


def _twin_with_shipped_switches(stage: str, work_dir: str) -> Config:
    """The tiny twin with every switch set as in the shipped config."""
    real_name, tiny_name = TWINS[stage]
    real = Config.fromfile(osp.join(REPO, 'configs', real_name))
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', tiny_name), format_python_code=False)
    student = cfg.model.student
    if real.model.student.get('with_cp') is not None:
        student.with_cp = real.model.student.with_cp
    if real.model.student.get('video') is not None:
        student.video.with_cp = real.model.student.video.get('with_cp', False)
    cfg.optim_wrapper.accumulative_counts = \
        real.optim_wrapper.accumulative_counts
    cfg.optim_wrapper.clip_grad = real.optim_wrapper.get('clip_grad')
    for split in SPLITS:
        for key in ('batch_size', 'num_workers', 'persistent_workers'):
            cfg[split][key] = real[split][key]
        cfg[split].sampler = real[split].sampler
    # a handful of iterations keeps the test short
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    cfg.val_dataloader.dataset.indices = 1
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=2, by_epoch=False)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


@pytest.mark.parametrize('stage', sorted(TWINS))
def test_tiny_twin_runs_with_the_shipped_switches(stage, tmp_path,
                                                  monkeypatch):
    """with_cp, batch sizes, workers, persistent workers, samplers, gradient
    accumulation and clipping as shipped, under CPU autocast (fp16, what
    ``--amp`` does on an accelerator: mmengine's AmpOptimWrapper needs one),
    on the tiny models: two iterations and a validation."""
    monkeypatch.chdir(REPO)
    cfg = _twin_with_shipped_switches(stage, str(tmp_path))
    real = Config.fromfile(osp.join(REPO, 'configs', TWINS[stage][0]))
    twin = _switches(cfg)
    for key, value in _switches(real).items():
        if key == 'optim_wrapper':
            continue  # AMP: the autocast below
        assert twin[key] == value, (stage, key)
    torch.manual_seed(0)
    runner = Runner.from_cfg(cfg)
    trainable = {
        k: v.detach().clone()
        for k, v in runner.model.named_parameters() if v.requires_grad
    }
    # what DDP checks: a trainable parameter without a gradient in some
    # iteration needs find_unused_parameters, or a multi-GPU run stops
    got_grad = {}

    def mark(name):
        return lambda p: got_grad.setdefault(runner.iter, set()).add(name)

    for name, param in runner.model.named_parameters():
        if param.requires_grad:
            param.register_post_accumulate_grad_hook(mark(name))
    with torch.autocast(device_type='cpu', dtype=torch.float16):
        runner.train()
    # the tiny students' 'video' neck branch exists only in the tiny models
    # (the real video tracker reads the tracker levels)
    expected = {k for k in trainable if '.neck.outputs.video.' not in k}
    unused = set().union(*(expected - used for used in got_grad.values()))
    assert len(got_grad) == 2
    if unused:
        assert real.get('find_unused_parameters', False), (
            f'{TWINS[stage][0]}: no gradient for {sorted(unused)[:3]}... '
            'in some iteration: set find_unused_parameters = True')
    changed = [
        k for k, v in runner.model.named_parameters()
        if k in trainable and not torch.equal(v, trainable[k])
    ]
    assert changed, f'{stage}: no parameter changed in 2 iterations'
    assert osp.isfile(osp.join(str(tmp_path), 'iter_2.pth'))


def test_every_shipped_switch_is_covered():
    """Every switch in which a shipped config differs from its tiny twin is one
    that ``test_tiny_twin_runs_with_the_shipped_switches`` sets."""
    covered = {
        'with_cp', 'accumulative_counts', 'optim_wrapper', 'clip_grad'
    } | {
        f'{s}.{k}'
        for s in SPLITS
        for k in ('batch_size', 'num_workers', 'persistent_workers', 'sampler')
    }
    for stage in TWINS:
        real, tiny = (
            Config.fromfile(osp.join(REPO, 'configs', name))
            for name in TWINS[stage])
        differ = {
            k
            for k, v in _switches(real).items() if _switches(tiny)[k] != v
        }
        assert differ, f'{stage}: the twins should differ somewhere'
        assert differ <= covered, (stage, differ - covered)
    for name in CONFIGS:
        if _is_tiny(name) or name.endswith('_base.py'):
            continue
        cfg = Config.fromfile(osp.join(REPO, 'configs', name))
        assert set(_switches(cfg)) <= covered, name
