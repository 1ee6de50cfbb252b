# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Configs/finetune: each config fine-tunes through mmengine's Runner on the
bundled COCO-format sample; the fine-tuned SAM3 is written in transformers'
layout and serves as a teacher; a clip batch trains the video tracker."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner

from esam3.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
pytestmark = pytest.mark.usefixtures('one_thread_configs')


@pytest.fixture(scope='module')
def one_thread_configs():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def finetune_cfg(name: str, work_dir: str) -> Config:
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'finetune', name))
    cfg.work_dir = work_dir
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=2, by_epoch=False)
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    return cfg


@pytest.mark.parametrize('name', ['sam3_tiny_coco.py', 'student_tiny_coco.py'])
def test_finetune_config_trains_through_runner(name, tmp_path):
    torch.manual_seed(0)
    runner = Runner.from_cfg(finetune_cfg(name, str(tmp_path)))
    before = {
        k: v.clone()
        for k, v in runner.model.state_dict().items()
        if 'tracker.mask_decoder' in k
    }
    runner.train()
    assert osp.isfile(tmp_path / 'iter_2.pth')
    after = runner.model.state_dict()
    # the geometric tracker is trained (Stage 3 keeps it frozen)
    assert any(not torch.equal(v, after[k]) for k, v in before.items())
    text = [
        p for n, p in runner.model.named_parameters() if 'text_encoder' in n
    ]
    assert text and not any(p.requires_grad for p in text)


def test_finetuned_sam3_is_a_teacher_and_clips_train_the_tracker(tmp_path):
    torch.manual_seed(0)
    cfg = finetune_cfg('sam3_tiny_coco_sav.py', str(tmp_path))
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model
    # a clip batch: tracking losses reach the video tracker's memory
    clips = DATASETS.build(cfg.train_dataloader.dataset.datasets[1])
    data = model.data_preprocessor(pseudo_collate([clips[0]]), training=True)
    model.zero_grad()
    losses = model(**data, mode='loss')
    assert set(losses) == {
        'loss_track_dice', 'loss_track_focal', 'loss_track_score'
    }
    sum(losses.values()).backward()
    video = model.student.video
    assert video.memory_attention.layers[0].self_attn.q_proj.weight.grad \
        .abs().sum() > 0
    assert model.student.trunk.embeddings.patch_embeddings.projection \
        .weight.grad.abs().sum() > 0
    # written as a SAM3 folder, loaded back as the teacher: same answers
    out = str(tmp_path / 'sam3')
    model.student.save_pretrained(out)
    teacher = MODELS.build(dict(type='Sam3Teacher', pretrained=out))
    vteacher = MODELS.build(dict(type='Sam3VideoTeacher', pretrained=out))
    x = torch.randn(1, 3, 224, 224)
    boxes = torch.tensor([[[20., 30., 120., 150.]]])
    model.eval()
    with torch.no_grad():
        want = model.student.predict_prompts(pixel_values=x, boxes=boxes)
        got = teacher.predict_prompts(pixel_values=x, boxes=boxes)
        torch.testing.assert_close(got.pred_masks, want.pred_masks)
        torch.testing.assert_close(
            vteacher.encode_trunk(x), model.student.encode_trunk(x))
