# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""configs/_base_/default_runtime.py and schedules/stage{1,2,3}.py."""
import os.path as osp

import pytest
from esam3_toy_helpers import REPO_ROOT, TOY_DIR
from mmengine.config import Config

BASE = osp.join(REPO_ROOT, 'configs', '_base_')


def test_default_runtime():
    cfg = Config.fromfile(osp.join(BASE, 'default_runtime.py'))
    assert cfg.default_scope == 'esam3'
    types = {h['type'] for h in cfg.default_hooks.values()}
    assert {
        'IterTimerHook', 'LoggerHook', 'ParamSchedulerHook', 'CheckpointHook',
        'DistSamplerSeedHook'
    } <= types
    assert cfg.env_cfg.cudnn_benchmark is False
    assert cfg.env_cfg.mp_cfg.mp_start_method == 'fork'
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert cfg.visualizer.type == 'Sam3Visualizer'
    assert cfg.log_processor.by_epoch is False
    assert cfg.load_from is None and cfg.resume is False
    assert not any('mmdet' in str(f) for f in cfg.get('_base_', []))


@pytest.mark.parametrize('stage,lr,warmup_end,batch', [
    ('stage1', 1e-4, 1000, 64),
    ('stage2', 5e-5, 500, 16),
    ('stage3', 2e-5, 200, 32),
])
def test_schedules(stage, lr, warmup_end, batch):
    cfg = Config.fromfile(osp.join(BASE, 'schedules', f'{stage}.py'))
    opt = cfg.optim_wrapper
    assert opt.optimizer.type == 'AdamW' and opt.optimizer.lr == lr
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    warm, cos = cfg.param_scheduler
    assert warm.type == 'LinearLR' and warm.end == warmup_end
    assert cos.type == 'CosineAnnealingLR'
    assert cos.begin == warmup_end and cos.end == cfg.train_cfg.max_iters
    assert cfg.num_gpus * cfg.batch_size_per_gpu * \
        opt.accumulative_counts == batch
    assert cfg.auto_scale_lr.base_batch_size == batch
    if stage == 'stage1':
        assert opt.optimizer.weight_decay == 0.05
    if stage == 'stage3':
        assert opt.clip_grad.max_norm == 1.0
        assert [h.type for h in cfg.custom_hooks] == ['EMAHook']


def test_stage3_schedule_trains_the_toy_model(tmp_path):
    """The stage-3 schedule (EMA, grad clipping, warm-up + cosine) builds and
    runs in a real Runner."""
    from esam3_toy_helpers import load_tool
    cfg_file = osp.join(TOY_DIR, 'toy_stage3_config.py')
    load_tool('train.py').main([
        cfg_file, '--work-dir',
        str(tmp_path / 'wd'), '--amp', '--auto-scale-lr', '--cfg-options',
        'default_hooks.checkpoint.interval=3',
        f'experiment_name=stage3_{id(cfg_file)}'
    ])
    import torch
    ckpt = torch.load(str(tmp_path / 'wd' / 'iter_3.pth'), weights_only=False)
    assert 'ema_state_dict' in ckpt
    lr = ckpt['optimizer']['param_groups'][0]['lr']
    assert 0 < lr < 2e-5  # still warming up
