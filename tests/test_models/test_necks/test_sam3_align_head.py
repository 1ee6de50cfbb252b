# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Sam3AlignHead on hand-made multi-scale features."""
import pytest
import torch
from neck_inputs import CHANNELS
from neck_inputs import backbone_feats as _feats

from esam3.models.necks import Sam3AlignHead
from esam3.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')


def test_trunk_mode_shape_and_registry():
    head = MODELS.build(
        dict(
            type='Sam3AlignHead',
            in_channels=CHANNELS,
            out_channels=32,
            out_size=(16, 16)))
    assert isinstance(head, Sam3AlignHead)
    assert head(_feats(batch=2)).shape == (2, 32, 16, 16)


def test_trunk_mode_default_is_sam3_width_and_size_from_call():
    head = Sam3AlignHead(CHANNELS, out_channels=None, embed_dims=16).eval()
    feats = _feats(1008)  # 252/126/63/32
    with torch.no_grad():
        assert head(feats, out_size=72).shape == (1, 1024, 72, 72)
        # no size anywhere: keep the stride-16 grid
        assert head(feats).shape == (1, 1024, 63, 63)


def test_configured_out_size_wins_over_call():
    head = Sam3AlignHead(
        CHANNELS, out_channels=8, out_size=(12, 10), embed_dims=8)
    assert head(_feats(), out_size=(16, 16)).shape == (1, 8, 12, 10)


def test_trunk_mode_fuses_only_stride_16_and_32():
    torch.manual_seed(0)
    head = Sam3AlignHead(
        CHANNELS, out_channels=8, out_size=16, embed_dims=8).eval()
    feats = _feats()
    with torch.no_grad():
        ref = head(feats)
        fine = list(feats)
        fine[0] = torch.randn_like(fine[0])
        fine[1] = torch.randn_like(fine[1])
        assert torch.equal(head(fine), ref)
        for i in (2, 3):
            changed = list(feats)
            changed[i] = changed[i] + 1.0
            assert not torch.allclose(head(changed), ref)


def test_gradients_reach_head_and_inputs():
    head = Sam3AlignHead(CHANNELS, out_channels=8, out_size=16, embed_dims=8)
    feats = [f.requires_grad_() for f in _feats()]
    head(feats).pow(2).mean().backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    for i in (2, 3):  # the fused strides 16 / 32
        assert feats[i].grad.abs().sum() > 0


def test_bad_configs():
    with pytest.raises(ValueError, match='mode'):
        Sam3AlignHead(CHANNELS, mode='bogus')
    with pytest.raises(ValueError, match='fuse_strides'):
        Sam3AlignHead(CHANNELS[:2], in_strides=(4, 8))
    with pytest.raises(ValueError, match='in_channels'):
        Sam3AlignHead(None)
    with pytest.raises(ValueError, match='Sam3LightFPN'):
        Sam3AlignHead(CHANNELS, mode='fpn')
    head = Sam3AlignHead(CHANNELS, out_channels=8, embed_dims=8)
    with pytest.raises(ValueError, match='expected 4 feature maps'):
        head(_feats()[:3])


def test_patch_branch_is_a_patch_embedding_on_the_token_grid():
    torch.manual_seed(0)
    head = Sam3AlignHead(
        in_channels=CHANNELS,
        mode='trunk',
        out_channels=12,
        embed_dims=16,
        patch_size=14)
    feats = _feats(56)  # backbone maps of a 56 px image (4x4 tokens)
    img = torch.randn(1, 3, 56, 56)
    with pytest.raises(ValueError, match='pass pixel_values'):
        head(feats, out_size=4)
    out = head(feats, out_size=4, pixel_values=img)
    assert out.shape == (1, 12, 4, 4)
    # changing the pixels of one 14x14 patch changes only the output tokens
    # the 3x3 refinement conv sees around it (token (0, 0) -> rows/cols 0-1)
    img2 = img.clone()
    img2[..., :14, :14] += 1.0
    diff = (head(feats, out_size=4, pixel_values=img2) - out).abs().sum(1)[0]
    assert diff[:2, :2].min() > 0
    assert diff[2:].max() == 0 and diff[:, 2:].max() == 0
    out.sum().backward()
    assert head.patch_embed.weight.grad.abs().sum() > 0
