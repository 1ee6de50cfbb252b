# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Every config file (new-style, ``read_base``) loads, dumps as the Runner
dumps it into a work dir, and the dump loads back to the same values; the tiny
twins keep their tiny values (the order of the base imports is the inheritance
order) and the shared pipelines are built at each config's size."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from esam3.engine.runner_utils import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, REPO) for p in
    glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True) +
    glob.glob(osp.join(REPO, 'projects', '*', 'configs', '*.py')))
SPLITS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _is_tiny(config: str) -> bool:
    name = osp.basename(config)
    return (name == 'tiny.py' or name.startswith('tiny_')
            or name.endswith('_tiny.py') or name.startswith('stage1_tiny'))


def _datasets(dataset: dict):
    """The leaf dataset configs of a (possibly concatenated) dataset."""
    if 'datasets' in dataset:
        for sub in dataset['datasets']:
            yield from _datasets(sub)
    else:
        yield dataset


def _resize_sizes(pipeline) -> set:
    sizes = set()
    for step in pipeline:
        if step['type'] == 'Sam3Resize':
            sizes.add(step['size'])
        sizes |= _resize_sizes(step.get('transforms', []))
    return sizes


def test_every_config_file_is_listed():
    assert len(CONFIGS) > 70
    assert 'configs/_base_/datasets/pipelines.py' in CONFIGS


@pytest.mark.parametrize('config', CONFIGS)
def test_config_loads_dumps_and_reloads(config, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(REPO)  # custom_imports of projects/
    cfg = load_config(osp.join(REPO, config))
    values = cfg.to_dict()
    assert not any(callable(v) for v in values.values()), (
        f'{config}: a function is left in the config (del it after use)')
    dumped = tmp_path / 'dumped.py'
    cfg.dump(str(dumped))
    again = Config.fromfile(str(dumped))
    assert again.to_dict() == values


@pytest.mark.parametrize('config', [c for c in CONFIGS if _is_tiny(c)])
def test_tiny_configs_keep_their_tiny_values(config):
    """A tiny config imports its real twin first and the tiny files after it:
    the data must be the bundled samples at 224 px and the SAM3 models the
    tiny random ones (no hub weights)."""
    cfg = Config.fromfile(osp.join(REPO, config))
    if cfg.get('img_size') is not None:
        assert cfg.img_size == 224, config
    for split in SPLITS:
        if cfg.get(split) is None:
            continue
        for dataset in _datasets(cfg[split].dataset):
            # bundled data: the samples, or the phrase lists (text stage)
            assert dataset.data_root.startswith(
                ('data/samples/', 'data/phrases')), (config, split)
            if 'pipeline' in dataset:
                assert _resize_sizes(dataset.pipeline) == {224}, (config,
                                                                  split)
    model = cfg.get('model')
    if model is not None:
        assert 'pretrained' not in repr(model.to_dict()), config


@pytest.mark.parametrize('real,tiny', [
    ('_base_/datasets/sa1b.py', '_base_/datasets/sa1b_tiny.py'),
    ('_base_/datasets/saco.py', '_base_/datasets/saco_tiny.py'),
    ('_base_/datasets/sav.py', '_base_/datasets/sav_tiny.py'),
    ('_base_/datasets/saco_video.py', '_base_/datasets/saco_video_tiny.py'),
])
def test_real_and_tiny_pipelines_differ_only_in_size(real, tiny):
    """One pipeline definition serves both sizes: replacing the size in the
    real pipelines gives the tiny ones exactly."""
    real_cfg = Config.fromfile(osp.join(REPO, 'configs', real))
    tiny_cfg = Config.fromfile(osp.join(REPO, 'configs', tiny))
    assert (real_cfg.img_size, tiny_cfg.img_size) == (1008, 224)

    def scaled(value):
        if isinstance(value, dict):
            return {k: scaled(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(scaled(v) for v in value)
        if isinstance(value, int) and not isinstance(value, bool):
            # the only sizes in a pipeline are S, 4S and S * 640 // 1024
            return {
                1008: 224,
                4 * 1008: 4 * 224,
                1008 * 640 // 1024: 224 * 640 // 1024
            }.get(value, value)
        return value

    for real_split, tiny_split in zip(
            _datasets(real_cfg.train_dataloader.dataset),
            _datasets(tiny_cfg.train_dataloader.dataset)):
        assert scaled([p.to_dict() for p in real_split.pipeline
                       ]) == [p.to_dict() for p in tiny_split.pipeline]
    assert _resize_sizes(real_cfg.test_pipeline) == {1008}
    assert _resize_sizes(tiny_cfg.test_pipeline) == {224}


def test_readme_cfg_options_reach_the_model():
    """The nested ``--cfg-options`` keys of the README and quick start."""
    s1 = load_config(osp.join(REPO, 'configs/stage1/repvit_m1_1.py'))
    s1.merge_from_dict({
        'model.teacher.pretrained': '/data/sam3',
        'model.student.sam3.pretrained': '/data/sam3',
        'train_cfg.max_iters': 4
    })
    assert s1.model.teacher.pretrained == '/data/sam3'
    assert s1.model.student.sam3.pretrained == '/data/sam3'
    assert s1.train_cfg.max_iters == 4
    s2 = load_config(osp.join(REPO, 'configs/stage2/tiny.py'))
    s2.merge_from_dict({'model.student.trunk_checkpoint': 'ckpt.pth'})
    assert s2.model.student.trunk_checkpoint == 'ckpt.pth'
    s3 = load_config(osp.join(REPO, 'configs/stage3/tiny.py'))
    s3.merge_from_dict({'model.student.stage2_checkpoint': 'ckpt.pth'})
    assert s3.model.student.stage2_checkpoint == 'ckpt.pth'
