# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Sam3LightFPN on hand-made multi-scale features."""
import pytest
import torch
from neck_inputs import CHANNELS
from neck_inputs import backbone_feats as _feats

from esam3.models.necks import Sam3LightFPN
from esam3.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')


def test_sam3_read_levels_at_1008_on_meta():
    """At 1008 px the levels are those SAM3's heads read (288/144/72, 256
    channels); the 36x36 level is not made.

    Meta tensors: no compute.
    """
    with torch.device('meta'):
        neck = MODELS.build(dict(type='Sam3LightFPN', in_channels=CHANNELS))
        out = neck(_feats(1008), out_size=72)
    assert set(out) == {'tracker', 'detector'}
    for levels in out.values():
        assert [tuple(lv.shape) for lv in levels] == [(1, 256, 288, 288),
                                                      (1, 256, 144, 144),
                                                      (1, 256, 72, 72)]
    assert neck.level_shapes((72, 72)) == {
        b: [(256, 288, 288), (256, 144, 144), (256, 72, 72)]
        for b in ('tracker', 'detector')
    }


def test_branches_run_only_when_asked_and_share_the_top_down_pass():
    torch.manual_seed(0)
    neck = Sam3LightFPN(
        CHANNELS, out_channels=dict(tracker=8, detector=4),
        embed_dims=8).eval()
    feats = _feats()
    with torch.no_grad():
        only = neck(feats, out_size=16, branches=['tracker'])
        both = neck(feats, out_size=16)
    assert list(only) == ['tracker']
    assert [lv.shape[1] for lv in both['detector']] == [4, 4, 4]
    assert all(
        torch.equal(a, b) for a, b in zip(only['tracker'], both['tracker']))


def test_neck_levels_resize_once_for_all_branches():
    """NeckLevels builds the per-level resized maps once and every branch
    convolves them: the same levels as the eager forward, with 3 resized
    maps for 2 branches instead of 6."""
    from esam3.models.necks.neck_levels import NeckLevels
    torch.manual_seed(0)
    neck = Sam3LightFPN(
        CHANNELS,
        out_channels=dict(tracker=8, detector=4),
        embed_dims=8,
        patch_size=14).eval()
    feats, pixels = _feats(), torch.randn(1, 3, 224, 224)
    calls = []
    original = neck.level_maps
    neck.level_maps = lambda td, grid: calls.append(grid) or original(td, grid)
    lazy = NeckLevels(feats, neck, (16, 16), pixels)
    with torch.no_grad():
        eager = neck(feats, out_size=16, pixel_values=pixels)
        lazy_levels = {b: lazy.levels(b) for b in ('detector', 'tracker')}
    # once in the eager forward, once for the two lazy branches
    assert calls == [(16, 16), (16, 16)]
    for b in ('tracker', 'detector'):
        for a, c in zip(eager[b], lazy_levels[b]):
            torch.testing.assert_close(a, c, rtol=0, atol=0)
    sliced = lazy.select(0)
    assert [m.shape[0] for m in sliced._level_maps] == [1, 1, 1]


def test_top_down_flow():
    torch.manual_seed(0)
    neck = Sam3LightFPN(
        CHANNELS, out_channels=8, embed_dims=8, branches=['tracker']).eval()
    feats = _feats()
    with torch.no_grad():
        ref = neck(feats, out_size=16)['tracker']
        # the coarsest map (stride 32, not a level of its own) reaches all
        changed = list(feats)
        changed[3] = changed[3] + 1.0
        new = neck(changed, out_size=16)['tracker']
        assert all(not torch.allclose(a, b) for a, b in zip(new, ref))
        # the finest map only the finest level
        changed = list(feats)
        changed[0] = changed[0] + 1.0
        new = neck(changed, out_size=16)['tracker']
        assert not torch.allclose(new[0], ref[0])
        assert all(torch.equal(a, b) for a, b in zip(new[1:], ref[1:]))


def test_gradients_reach_every_parameter():
    neck = Sam3LightFPN(CHANNELS, out_channels=8, embed_dims=8, patch_size=14)
    img = torch.randn(1, 3, 224, 224)
    out = neck(_feats(), out_size=16, pixel_values=img)
    sum(lv.pow(2).mean() for levels in out.values()
        for lv in levels).backward()
    for name, param in neck.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_patch_branch_follows_the_token_grid():
    torch.manual_seed(0)
    neck = Sam3LightFPN(
        CHANNELS,
        out_channels=4,
        embed_dims=8,
        branches=['tracker'],
        patch_size=14).eval()
    feats, img = _feats(56), torch.randn(1, 3, 56, 56)  # 4x4 tokens
    with pytest.raises(ValueError, match='pass pixel_values'):
        neck(feats, out_size=4)
    with torch.no_grad():
        ref = neck(feats, out_size=4, pixel_values=img)['tracker'][2]
        img2 = img.clone()
        img2[..., :14, :14] += 1.0  # token (0, 0)
        new = neck(feats, out_size=4, pixel_values=img2)['tracker'][2]
    diff = (new - ref).abs().sum(1)[0]
    # the grid level sees it at token (0, 0) and its 3x3 neighbours only
    assert diff[:2, :2].min() > 0
    assert diff[2:].max() == 0 and diff[:, 2:].max() == 0


def test_explicit_sizes_and_bad_configs():
    neck = Sam3LightFPN(
        CHANNELS, out_channels=4, embed_dims=8, out_sizes=[20, 10, 5])
    assert neck.level_shapes((16, 16))['tracker'] == [(4, 20, 20), (4, 10, 10),
                                                      (4, 5, 5)]
    with pytest.raises(ValueError, match='branches'):
        Sam3LightFPN(CHANNELS, branches=['tracker', 'bogus'])
    with pytest.raises(ValueError, match='no width'):
        Sam3LightFPN(CHANNELS, out_channels=dict(tracker=8))
    with pytest.raises(ValueError, match='level_inputs'):
        Sam3LightFPN(CHANNELS, level_inputs=(0, 1, 7))
    with pytest.raises(ValueError, match='one size per level'):
        Sam3LightFPN(CHANNELS, out_sizes=[20, 10])
    with pytest.raises(ValueError, match='in_channels'):
        Sam3LightFPN(None)
    with pytest.raises(ValueError, match='expected 4 feature maps'):
        neck(_feats()[:3], out_size=16)
