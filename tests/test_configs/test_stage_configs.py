# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Every stage config parses, and each student trains through mmengine's Runner
at tiny size (tiny random SAM3 teacher, bundled images)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENTS = [
    'repvit_m0_9', 'repvit_m1_1', 'repvit_m2_3', 'tinyvit_5m', 'tinyvit_11m',
    'tinyvit_21m', 'efficientvit_b0', 'efficientvit_b1', 'efficientvit_b2'
]


def cfg_path(*parts):
    return osp.join(REPO, 'configs', *parts)


@pytest.mark.parametrize('stage', ['stage1', 'stage2', 'stage3'])
def test_every_config_parses_and_students_differ_only_in_backbone(stage):
    base = None
    for name in STUDENTS:
        cfg = Config.fromfile(cfg_path(stage, f'{name}.py'))
        backbone = cfg.model.student.trunk.backbone
        assert backbone.type == 'TimmBackbone'
        model = dict(cfg.model.to_dict())
        model['student'] = dict(model['student'])
        model['student']['trunk'] = dict(
            model['student']['trunk'], backbone=None)
        if base is None:
            base = model
        assert model == base, f'{stage}/{name} differs beyond the backbone'
    for path in glob.glob(cfg_path(stage, '*.py')):
        Config.fromfile(path)


def _tiny_runner_cfg(name: str, work_dir: str) -> Config:
    cfg = Config.fromfile(
        cfg_path('stage1', 'tiny.py'), format_python_code=False)
    cfg.model.student.trunk.backbone = Config.fromfile(
        cfg_path('stage1', f'{name}.py')).model.student.trunk.backbone
    cfg.work_dir = work_dir
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=1, val_interval=100)
    cfg.train_dataloader.batch_size = 1
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, by_epoch=False)
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    return cfg


@pytest.mark.parametrize('name', STUDENTS)
def test_stage1_student_trains_through_runner(name, tmp_path):
    torch.manual_seed(0)
    runner = Runner.from_cfg(_tiny_runner_cfg(name, str(tmp_path)))
    before = {
        k: v.clone()
        for k, v in runner.model.student.trunk.state_dict().items()
    }
    runner.train()
    after = runner.model.student.trunk.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    ckpt = torch.load(
        osp.join(str(tmp_path), 'iter_1.pth'),
        map_location='cpu',
        weights_only=False)
    assert ckpt['state_dict'] and all(
        k.startswith('student.') for k in ckpt['state_dict'])


def test_stage3_ema_weights_are_saved_and_used_for_eval(tmp_path):
    cfg = Config.fromfile(
        cfg_path('stage3', 'tiny.py'), format_python_code=False)
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    cfg.train_dataloader.batch_size = [1, 1]  # images, clips
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=2, by_epoch=False)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = torch.load(
        osp.join(str(tmp_path), 'iter_2.pth'),
        map_location='cpu',
        weights_only=False)
    ema = ckpt['ema_state_dict']
    raw = {
        k[len('module.'):]: v
        for k, v in ema.items() if k.startswith('module.')
    }
    trained = [
        k for k, v in raw.items()
        if k.startswith('student.heads.detector.detr_decoder')
        and v.is_floating_point()
    ]
    assert trained
    # EMAHook saves the averaged weights as state_dict and the raw ones in
    # ema_state_dict: after 2 steps of momentum 0.01 they must differ.
    assert any(not torch.equal(ckpt['state_dict'][k], raw[k]) for k in trained)
    assert not any(k.startswith('teacher') for k in ckpt['state_dict'])


def test_stage3_mixes_image_and_clip_batches_through_runner(tmp_path):
    """The tiny Stage 3 run draws batches of images and batches of clips
    (mmdet's ConcatDataset + SourceBatchSampler); both kinds train the model,
    and the clip batches train the Perceiver tracker."""
    cfg = Config.fromfile(
        cfg_path('stage3', 'tiny.py'), format_python_code=False)
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=6, val_interval=100)
    cfg.train_dataloader.batch_size = [1, 1]
    cfg.custom_hooks = []
    cfg.randomness = dict(seed=0)  # the sampler's draw is then fixed
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    model = runner.model
    seen = []
    original = model.loss

    def spy(inputs, data_samples):
        seen.append(inputs.dim())
        return original(inputs, data_samples)

    model.loss = spy
    before = {
        k: v.clone()
        for k, v in model.student.video.memory_bank.state_dict().items()
    }
    torch.manual_seed(3)
    runner.train()
    assert 4 in seen and 5 in seen, f'batch kinds seen: {seen}'
    after = model.student.video.memory_bank.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
