# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""StudentTrunk = TimmBackbone + Sam3AlignHead, as the student builds it."""
import pytest
import torch

from esam3.models.necks import NeckLevels, Sam3AlignHead
from esam3.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')


def _trunk(model_name='efficientvit_b0', **neck):
    neck = dict(type='Sam3AlignHead', **neck)
    return MODELS.build(
        dict(
            type='StudentTrunk',
            backbone=dict(type='TimmBackbone', model_name=model_name),
            neck=neck))


def test_channels_filled_in_and_gradients_reach_everything():
    torch.manual_seed(0)
    trunk = _trunk(
        mode='trunk', out_channels=32, out_size=(8, 8), embed_dims=32)
    assert isinstance(trunk.neck, Sam3AlignHead)
    assert trunk.neck.in_channels == [16, 32, 64, 128]
    assert trunk.neck.in_strides == [4, 8, 16, 32]
    out = trunk(torch.randn(2, 3, 112, 112))
    assert out.shape == (2, 32, 8, 8)
    out.pow(2).mean().backward()
    # stages 0/1 only feed the stride-16/32 maps in trunk mode: every
    # parameter of the backbone and the head gets a non-zero gradient
    for name, param in trunk.named_parameters():
        assert param.grad is not None, name
    assert all(p.grad.abs().sum() > 0
               for n, p in trunk.neck.named_parameters())
    assert trunk.backbone.timm_model['stem_in_conv'].conv.weight.grad.abs(
    ).sum() > 0


def test_real_size_1008_gives_sam3_trunk_shape():
    trunk = _trunk(mode='trunk', out_channels=1024, out_size=(72, 72)).eval()
    with torch.no_grad():
        out = trunk(torch.randn(1, 3, 1008, 1008))
    assert out.shape == (1, 1024, 72, 72)
    assert torch.isfinite(out).all()


def test_grid_follows_input_when_out_size_unset():
    trunk = _trunk(mode='trunk', out_channels=8, embed_dims=16).eval()
    with torch.no_grad():
        assert trunk(torch.randn(1, 3, 224, 224)).shape == (1, 8, 16, 16)
        assert trunk(torch.randn(1, 3, 112, 112)).shape == (1, 8, 8, 8)


def test_light_neck_through_trunk_is_lazy_per_sam3_neck():
    trunk = MODELS.build(
        dict(
            type='StudentTrunk',
            backbone=dict(type='TimmBackbone', model_name='efficientvit_b0'),
            neck=dict(type='Sam3LightFPN', out_channels=16))).eval()
    assert trunk.makes_levels
    with torch.no_grad():
        feats = trunk(torch.randn(2, 3, 112, 112))  # grid 8
        assert isinstance(feats, NeckLevels) and feats.computed == ()
        levels = feats.levels('tracker')
        assert feats.computed == ('tracker', )
        assert [tuple(lv.shape) for lv in levels] == [(2, 16, 32, 32),
                                                      (2, 16, 16, 16),
                                                      (2, 16, 8, 8)]
        assert feats.levels('tracker')[0] is levels[0]  # cached
        one = feats.select(1)
        assert one.batch_size == 1 and one.computed == ('tracker', )
        assert torch.equal(one.levels('tracker')[2], levels[2][1:])
        # the detector levels computed on the selected row equal those of
        # the whole batch
        assert torch.allclose(
            one.levels('detector')[0],
            feats.levels('detector')[0][1:],
            atol=1e-6)
