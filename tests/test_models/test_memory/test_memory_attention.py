# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import torch

from esam3.models.memory import MemoryAttention
from esam3.registry import MODELS


def build(**kwargs) -> MemoryAttention:
    cfg = dict(
        type='MemoryAttention',
        d_model=32,
        kv_dim=16,
        num_layers=2,
        num_heads=2,
        ffn_dim=64)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_shapes_batch_independence_and_mask():
    torch.manual_seed(0)
    model = build().eval()
    q, qpos = torch.randn(3, 20, 32), torch.randn(1, 20, 32)
    mem, mpos = torch.randn(3, 11, 16), torch.randn(3, 11, 16)
    with torch.no_grad():
        out = model(q, mem, qpos, mpos)
        assert out.shape == (3, 20, 32)
        alone = model(q[1:2], mem[1:2], qpos, mpos[1:2])
        assert torch.allclose(out[1:2], alone, atol=1e-5)
        # masked memory tokens have no influence
        mask = torch.ones(3, 11, dtype=torch.bool)
        mask[:, 8:] = False
        noisy = mem.clone()
        noisy[:, 8:] = 1e3 * torch.randn(3, 3, 16)
        masked = model(q, noisy, qpos, mpos, mask)
        trimmed = model(q, mem[:, :8], qpos, mpos[:, :8])
    assert torch.allclose(masked, trimmed, atol=1e-5)


def test_with_cp_and_gradients():
    torch.manual_seed(0)
    ref, cp = build(), build(with_cp=True)
    cp.load_state_dict(ref.state_dict())
    q, mem = torch.randn(2, 12, 32), torch.randn(2, 7, 16)
    grads = []
    for model in (ref, cp):
        torch.manual_seed(3)
        out = model(q, mem, None, torch.randn(2, 7, 16))
        out.square().mean().backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
    for name, grad in grads[0].items():
        assert grad is not None and grad.abs().sum() > 0, name
        assert torch.allclose(grad, grads[1][name], atol=1e-5), name
