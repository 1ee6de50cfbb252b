# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import pytest
import torch

from esam3.models.memory import (SpatialPerceiver, sine_position_encoding_2d,
                                 window_partition)
from esam3.registry import MODELS

DIM = 32


def small_perceiver(**kwargs) -> SpatialPerceiver:
    cfg = dict(
        type='SpatialPerceiver',
        dim=DIM,
        num_global_latents=8,
        grid_size=(4, 4),
        depth=2,
        num_heads=2)
    cfg.update(kwargs)
    return MODELS.build(cfg)


@pytest.mark.parametrize('batch,objects', [(1, 1), (3, 1), (2, 3)])
def test_shapes_and_pos(batch, objects):
    torch.manual_seed(0)
    model = small_perceiver().eval()
    feats = torch.randn(batch * objects, DIM, 16, 16)  # objects folded in B
    latents, pos = model(feats)
    k = 8 + 16
    assert model.num_latents == k
    assert latents.shape == pos.shape == (batch * objects, k, DIM)
    assert torch.isfinite(latents).all()
    # global latents carry no position, 2D latents the sine pos of the grid
    assert torch.all(pos[:, :8] == 0)
    grid_pos = sine_position_encoding_2d(4, 4, DIM).flatten(1).t()
    assert torch.allclose(pos[:, 8:], grid_pos.expand_as(pos[:, 8:]))


def test_in_out_channels_and_pos_input():
    torch.manual_seed(0)
    model = small_perceiver(in_channels=48, out_channels=16).eval()
    feats = torch.randn(2, 48, 12, 12)
    latents, pos = model(feats)
    assert latents.shape == pos.shape == (2, 24, 16)
    # an explicit positional encoding reaches the global latents only
    other_pos = torch.randn(2, DIM, 12, 12)
    latents2, _ = model(feats, other_pos)
    assert not torch.allclose(latents[:, :8], latents2[:, :8])
    assert torch.allclose(latents[:, 8:], latents2[:, 8:])
    with pytest.raises(ValueError):
        model(feats, torch.randn(2, 48, 12, 12))


@pytest.mark.parametrize('size', [(16, 16), (13, 10)])
def test_batch_independence(size):
    """Sample i of a batch == sample i run alone (the expand/view bug)."""
    torch.manual_seed(0)
    model = small_perceiver().eval()
    feats = torch.randn(3, DIM, *size)
    pos = torch.randn(3, DIM, *size)
    with torch.no_grad():
        latents, lpos = model(feats, pos)
        for i in range(3):
            alone, alone_pos = model(feats[i:i + 1], pos[i:i + 1])
            assert torch.allclose(latents[i:i + 1], alone, atol=1e-5)
            assert torch.allclose(lpos[i:i + 1], alone_pos)


def test_window_partition_matches_slices():
    x = torch.randn(2, 6, 8, 3)
    windows, mask = window_partition(x, (2, 4))
    assert mask is None and windows.shape == (16, 6, 3)
    # sample 1, window (row 1, col 2) -> rows 3..5, cols 4..5
    expect = x[1, 3:6, 4:6].reshape(-1, 3)
    assert torch.equal(windows[1 * 8 + 1 * 4 + 2], expect)
    # uneven split: 7 rows into 2 windows -> 3 + 4 rows, padded to 4
    windows, mask = window_partition(torch.randn(1, 7, 4, 3), (2, 2))
    assert windows.shape == (4, 8, 3)
    assert mask.sum(1).tolist() == [6, 6, 8, 8]
    with pytest.raises(ValueError):
        window_partition(torch.randn(1, 3, 3, 1), (4, 4))


@pytest.mark.parametrize('size,grid', [((16, 16), (4, 4)), ((13, 10), (3, 4))])
def test_2d_latent_sees_only_its_window(size, grid):
    """Depth 2 with self-attention: each window holds one latent, so the
    self-attention of the 2D path cannot mix windows."""
    torch.manual_seed(0)
    model = small_perceiver(grid_size=grid).eval()
    h, w = size
    feats = torch.randn(1, DIM, h, w)
    edges_y = [(i * h) // grid[0] for i in range(grid[0] + 1)]
    edges_x = [(j * w) // grid[1] for j in range(grid[1] + 1)]
    target = grid[1] + 1  # window (row 1, col 1)
    y0, y1, x0, x1 = edges_y[1], edges_y[2], edges_x[1], edges_x[2]
    inside = torch.zeros(h, w, dtype=torch.bool)
    inside[y0:y1, x0:x1] = True
    with torch.no_grad():
        ref, _ = model(feats)
        outside = feats + 5 * torch.randn_like(feats) * (~inside)
        out, _ = model(outside)
        in_2d = feats + 5 * torch.randn_like(feats) * inside
        out_in, _ = model(in_2d)
    g = model.num_global_latents
    assert torch.allclose(out[0, g + target], ref[0, g + target], atol=1e-6)
    assert not torch.allclose(out[0, :g], ref[0, :g], atol=1e-3)
    changed = (out_in[0, g:] - ref[0, g:]).abs().amax(-1) > 1e-5
    assert changed.tolist() == [i == target for i in range(grid[0] * grid[1])]


def test_gradients_reach_all_parameters():
    torch.manual_seed(0)
    model = small_perceiver(in_channels=24, out_channels=16).train()
    feats = torch.randn(2, 24, 8, 8, requires_grad=True)
    latents, _ = model(feats)
    (latents * torch.randn_like(latents)).sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name
    assert feats.grad.abs().sum() > 0


def test_with_cp_same_output_and_grads():
    torch.manual_seed(0)
    ref = small_perceiver(dropout=0.1).train()
    cp = small_perceiver(dropout=0.1, with_cp=True).train()
    cp.load_state_dict(ref.state_dict())
    feats = torch.randn(2, DIM, 8, 8)
    outs, grads = [], []
    for model in (ref, cp):
        torch.manual_seed(1)  # same dropout masks; cp replays the RNG
        latents, _ = model(feats)
        latents.square().mean().backward()
        outs.append(latents.detach())
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    assert torch.allclose(outs[0], outs[1], atol=1e-6)
    for name, grad in grads[0].items():
        assert torch.allclose(grad, grads[1][name], atol=1e-6), name


def test_only_global_or_only_2d():
    feats = torch.randn(2, DIM, 8, 8)
    lat, pos = small_perceiver(grid_size=None).eval()(feats)
    assert lat.shape == (2, 8, DIM) and torch.all(pos == 0)
    lat, _ = small_perceiver(num_global_latents=0, grid_size=2).eval()(feats)
    assert lat.shape == (2, 4, DIM)
    with pytest.raises(ValueError):
        small_perceiver(num_global_latents=0, grid_size=0)


def test_pool_residual_starts_as_window_average_pooling():
    """pool_residual: untrained, the 2D latents and their positional
    encoding are the window means (hand-computed, uneven windows included)
    and the global latents are 0; the gain is the only parameter with a
    gradient at the start, and after one step the attention path adds to
    the means."""
    torch.manual_seed(0)
    model = small_perceiver(pool_residual=True, grid_size=(2, 3)).eval()
    feats = torch.randn(2, DIM, 4, 5)
    pos = torch.randn(1, DIM, 4, 5)
    latents, latent_pos = model(feats, pos)
    assert latents.shape == (2, 8 + 6, DIM)
    assert torch.equal(latents[:, :8], torch.zeros(2, 8, DIM))
    # columns split 5 -> [0, 1), [1, 3), [3, 5); rows 4 -> [0, 2), [2, 4)
    rows, cols = [(0, 2), (2, 4)], [(0, 1), (1, 3), (3, 5)]
    k = 8
    for r0, r1 in rows:
        for c0, c1 in cols:
            torch.testing.assert_close(
                latents[:, k], feats[:, :, r0:r1, c0:c1].mean((-1, -2)))
            torch.testing.assert_close(
                latent_pos[:, k], pos[:, :, r0:r1, c0:c1].mean(
                    (-1, -2)).expand(2, -1))
            k += 1
    assert torch.equal(latent_pos[:, :8], torch.zeros(2, 8, DIM))

    model.train()
    latents, _ = model(feats, pos)
    latents.pow(2).sum().backward()
    with_grad = {
        n
        for n, p in model.named_parameters()
        if p.grad is not None and p.grad.abs().sum() > 0
    }
    assert with_grad == {'residual_gain'}
    with torch.no_grad():
        model.residual_gain.fill_(0.5)
    model.eval()
    moved, _ = model(feats, pos)
    assert not torch.allclose(moved[:, 8:], latents[:, 8:].detach())
    with pytest.raises(ValueError, match='in_channels == out_channels'):
        small_perceiver(pool_residual=True, out_channels=DIM * 2)
