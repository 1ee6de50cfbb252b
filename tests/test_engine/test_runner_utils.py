# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""esam3.engine.runner_utils."""
import pytest
import torch
from mmengine.config import Config

from esam3.engine import runner_utils as ru

no_cuda = pytest.mark.skipif(
    torch.cuda.is_available(), reason='CPU fallbacks only apply without CUDA')


@no_cuda
def test_cpu_fallbacks_switch_backend_and_ddp_devices():
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert ru.use_cpu_fallbacks(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert 'model_wrapper_cfg' not in cfg  # single process: no DDP
    cfg = Config(dict(launcher='pytorch', find_unused_parameters=True))
    ru.use_cpu_fallbacks(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.find_unused_parameters is True


def test_resume_modes(tmp_path):
    cfg = Config(
        dict(
            load_from='x.pth',
            resume=False,
            work_dir=str(tmp_path / 'empty_work_dir')))
    ru.apply_resume(cfg, None)
    assert cfg.resume is False and cfg.load_from == 'x.pth'
    ru.apply_resume(cfg, 'auto')  # no checkpoint yet: a fresh start
    assert cfg.resume is True and cfg.load_from is None
    ckpt = tmp_path / 'iter_2.pth'
    torch.save({'meta': {}}, str(ckpt))
    ru.apply_resume(cfg, str(ckpt))
    assert cfg.load_from == str(ckpt)
    # truncated / zero-byte / auto-resume cases:
    # tests/test_bad_input/test_bad_checkpoints.py


def test_work_dir_and_auto_scale_lr():
    cfg = Config(dict())
    assert ru.work_dir_from_config(cfg, 'configs/stage1/tiny.py') == \
        './work_dirs/tiny'
    assert ru.work_dir_from_config(cfg, 'a.py', 'w') == 'w'
    with pytest.raises(RuntimeError, match='base_batch_size'):
        ru.enable_auto_scale_lr(cfg)
    cfg = Config(dict(auto_scale_lr=dict(enable=False, base_batch_size=64)))
    ru.enable_auto_scale_lr(cfg)
    assert cfg.auto_scale_lr.enable is True


def test_data_roots_checked_in_nested_datasets(tmp_path):
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        dict(type='A', data_root=str(tmp_path)),
                        dict(
                            type='RepeatDataset',
                            dataset=dict(
                                type='B', data_root=str(tmp_path / 'gone'))),
                    ]))))
    with pytest.raises(FileNotFoundError) as info:
        ru.check_data_roots(cfg, 'my_cfg.py')
    msg = str(info.value)
    assert str(tmp_path / 'gone') in msg and 'my_cfg.py' in msg
    assert 'train_dataloader.dataset.datasets[1].dataset' in msg
    ru.check_data_roots(cfg, 'my_cfg.py', loaders=['val_dataloader'])


def test_unknown_type_translation():
    inner = KeyError('NoSuch is not in the esam3::model registry. Please')
    wrapped = KeyError(f'class `Outer` in mod.py: {inner}')
    err = ru.unknown_type_error(wrapped, 'c.py')
    assert isinstance(err, KeyError) and err.type_name == 'NoSuch'
    assert str(err).startswith('config c.py uses unknown type "NoSuch"')
    assert ru.unknown_type_error(KeyError('plain'), 'c.py') is None
