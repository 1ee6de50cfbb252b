# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""The nine student encoders: real timm architectures, random init."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from esam3.models.backbones import TimmBackbone
from esam3.registry import MODELS

# config file -> (timm model, channels, params in M of the feature model),
# as listed for timm 1.0.x in the project reference.
STUDENTS = {
    'repvit_m0_9': ('repvit_m0_9', [48, 96, 192, 384], 4.72),
    'repvit_m1_1': ('repvit_m1_1', [64, 128, 256, 512], 7.77),
    'repvit_m2_3': ('repvit_m2_3', [80, 160, 320, 640], 22.40),
    'tinyvit_5m': ('tiny_vit_5m_224', [64, 128, 160, 320], 5.07),
    'tinyvit_11m': ('tiny_vit_11m_224', [64, 128, 256, 448], 10.55),
    'tinyvit_21m': ('tiny_vit_21m_224', [96, 192, 384, 576], 20.62),
    'efficientvit_b0': ('efficientvit_b0', [16, 32, 64, 128], 0.68),
    'efficientvit_b1': ('efficientvit_b1', [32, 64, 128, 256], 4.64),
    'efficientvit_b2': ('efficientvit_b2', [48, 96, 192, 384], 14.98),
}

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.mark.parametrize('cfg_name', sorted(STUDENTS))
def test_student_config_builds_and_runs_at_224(repo_root, cfg_name):
    model_name, channels, params_m = STUDENTS[cfg_name]
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs/_base_/models/students',
                 cfg_name + '.py'))
    assert set(cfg.keys()) == {'student_backbone'}
    assert cfg.student_backbone.model_name == model_name
    backbone = MODELS.build(cfg.student_backbone)
    assert isinstance(backbone, TimmBackbone)
    assert backbone.out_channels == channels
    assert backbone.out_strides == [4, 8, 16, 32]
    n_params = sum(p.numel() for p in backbone.parameters())
    assert round(n_params / 1e6, 2) == params_m
    backbone.eval()
    with torch.no_grad():
        feats = backbone(torch.randn(1, 3, 224, 224))
    assert [tuple(f.shape) for f in feats] == [
        (1, c, 224 // s, 224 // s) for c, s in zip(channels, [4, 8, 16, 32])
    ]
    assert all(torch.isfinite(f).all() for f in feats)


def test_tinyvit_runs_off_its_224_window_grid():
    # 160 px: attention stages see 20/10/5 maps, none a multiple of their
    # 7/14/7 windows, so every attention stage pads.
    backbone = TimmBackbone('tiny_vit_5m_224').eval()
    with torch.no_grad():
        feats = backbone(torch.randn(1, 3, 160, 160))
    assert [tuple(f.shape[-2:]) for f in feats] == [(40, 40), (20, 20),
                                                    (10, 10), (5, 5)]
    with pytest.raises(TypeError):  # timm 1.0.31 TinyVit has no img_size
        TimmBackbone('tiny_vit_5m_224', img_size=1008)


def test_out_indices_subset():
    backbone = TimmBackbone('efficientvit_b0', out_indices=(2, 3))
    assert backbone.out_channels == [64, 128]
    assert backbone.out_strides == [16, 32]
    feats = backbone(torch.randn(1, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(1, 64, 4, 4), (1, 128, 2, 2)]


def test_timm_pretrained_is_refused():
    with pytest.raises(ValueError, match='checkpoint_path'):
        TimmBackbone('efficientvit_b0', pretrained=True)


def _grads(module):
    return {n: p.grad for n, p in module.named_parameters()}


def test_frozen_stages_stop_gradients_and_bn_updates():
    backbone = TimmBackbone('efficientvit_b0', frozen_stages=1)
    assert backbone._frozen_names == ['stem_in_conv', 'stem_res0', 'stages_0']
    backbone.train()
    stem_bn = backbone.timm_model['stem_in_conv'].norm
    assert not stem_bn.training
    assert backbone.timm_model['stages_1'].training
    mean_before = stem_bn.running_mean.clone()
    late_bn = [
        m for m in backbone.timm_model['stages_3'].modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    ][0]
    late_before = late_bn.running_mean.clone()
    feats = backbone(torch.randn(2, 3, 64, 64))
    sum(f.mean() for f in feats).backward()
    assert torch.equal(stem_bn.running_mean, mean_before)
    assert not torch.equal(late_bn.running_mean, late_before)
    for name, param in backbone.named_parameters():
        frozen = name.split('.')[1] in backbone._frozen_names
        assert param.requires_grad is not frozen, name
        if frozen:
            assert param.grad is None, name
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for n, p in backbone.named_parameters()
               if n.startswith('timm_model.stages_3'))


def test_freeze_whole_encoder():
    backbone = TimmBackbone('efficientvit_b0', freeze=True).train()
    assert not any(p.requires_grad for p in backbone.parameters())
    assert not any(m.training for m in backbone.timm_model.modules())
    x = torch.randn(1, 3, 64, 64, requires_grad=True)
    backbone(x)[-1].sum().backward()
    assert x.grad is not None  # gradients still flow through to the input
    assert all(p.grad is None for p in backbone.parameters())


def test_frozen_stages_out_of_range():
    with pytest.raises(ValueError, match='frozen_stages'):
        TimmBackbone('efficientvit_b0', frozen_stages=5)
