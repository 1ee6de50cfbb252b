# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import pytest
import torch

from esam3.models.memory import DenseMemoryBank, PerceiverMemoryBank
from esam3.registry import MODELS

C, PTR = 16, 32  # pointer splits into 2 memory tokens


def dense_bank(**kwargs) -> DenseMemoryBank:
    cfg = dict(type='DenseMemoryBank', mem_dim=C, ptr_dim=PTR)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def perceiver_bank(**kwargs) -> PerceiverMemoryBank:
    cfg = dict(
        type='PerceiverMemoryBank',
        mem_dim=C,
        ptr_dim=PTR,
        perceiver=dict(
            type='SpatialPerceiver',
            dim=C,
            num_global_latents=4,
            grid_size=2,
            depth=1))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def fill(bank, num_frames, objects=2, size=4, cond=(0, )):
    """Frame t of object o holds the constant 100 * o + t."""
    for t in range(num_frames):
        value = (100 * torch.arange(objects) + t).float()
        feats = value[:, None, None, None].expand(objects, C, size, size)
        ptr = value[:, None].expand(objects, PTR)
        bank.append(t, feats.clone(), None, ptr.clone(), is_cond=t in cond)


def frame_values(memory, tokens_per_frame, num_frames):
    """Constant of each stored frame segment for object 0."""
    seg = memory[0, :num_frames * tokens_per_frame].reshape(
        num_frames, tokens_per_frame, C)
    return seg[:, 0, 0].tolist()


def test_gather_order_and_eviction():
    bank = dense_bank()
    fill(bank, 10)
    # cond frame 0 kept, oldest non-cond frames 1..3 evicted (7 slots)
    assert bank.frame_indices == [0, 4, 5, 6, 7, 8, 9]
    memory, pos = bank.gather()
    p = 10 * 2
    assert bank.num_pointer_tokens == p
    assert memory.shape == pos.shape == (2, 7 * 16 + p, C)
    assert frame_values(memory, 16, 7) == [0, 4, 5, 6, 7, 8, 9]
    # object 1 is offset by 100
    assert memory[1, 0, 0] == 100
    # temporal encoding: cond -> last slot, newest -> slot 0
    base = bank._cond[0]['pos'][0]
    tpos = bank.maskmem_tpos_enc.detach()
    assert torch.allclose(pos[0, :16], base + tpos[6])
    assert torch.allclose(pos[0, 6 * 16:7 * 16], base + tpos[0])
    assert torch.allclose(pos[0, 16:32], base + tpos[5])


def test_pointers_capped_and_ordered():
    bank = dense_bank(max_obj_ptrs=16)
    fill(bank, 30)
    assert bank.pointer_frame_indices == [0] + list(range(29, 14, -1))
    memory, pos = bank.gather()
    p = bank.num_pointer_tokens
    assert p == 16 * 2
    ptr_vals = memory[0, -p:, 0].reshape(16, 2)[:, 0].tolist()
    assert ptr_vals == [0] + list(range(29, 14, -1))
    # pointer pos depends on the distance to the current frame
    _, pos_later = bank.gather(frame_idx=40)
    assert not torch.allclose(pos[:, -p:], pos_later[:, -p:])
    assert torch.allclose(pos[:, :-p], pos_later[:, :-p])


def test_new_cond_frame_and_replacement():
    bank = dense_bank(num_maskmem=3)
    fill(bank, 6, cond=(0, 4))
    # newest cond frame replaces the old one; 2 recent non-cond frames kept
    assert bank.frame_indices == [4, 3, 5]
    assert bank.pointer_frame_indices == [4, 5, 3, 2, 1]
    # re-appending a stored frame replaces it
    bank.append(5, torch.full((2, C, 4, 4), 7.), None, None, is_cond=True)
    assert bank.frame_indices == [5, 3]
    memory, _ = bank.gather()
    assert frame_values(memory, 16, 2) == [7, 3]


def test_remove_object_and_reset():
    bank = perceiver_bank().eval()
    with torch.no_grad():
        fill(bank, 5, objects=3)
        memory, pos = bank.gather()
        bank.remove_object(1)
        assert bank.num_objects == 2
        memory2, pos2 = bank.gather()
    assert torch.allclose(memory2, memory[[0, 2]])
    assert torch.allclose(pos2, pos[[0, 2]])
    with pytest.raises(ValueError):
        bank.append(9, torch.randn(3, C, 4, 4))
    bank.reset()
    assert bank.num_frames == 0 and bank.num_objects == 0
    with pytest.raises(RuntimeError):
        bank.gather()


def test_perceiver_bank_shapes_and_gradients():
    bank = perceiver_bank().train()
    feats = torch.randn(3, C, 8, 8, requires_grad=True)
    bank.append(0, feats, None, torch.randn(3, PTR), is_cond=True)
    bank.append(1, torch.randn(3, C, 8, 8), None, torch.randn(3, PTR))
    memory, pos = bank.gather()
    k = bank.perceiver.num_latents
    assert k == 8 and bank.tokens_per_frame(8, 8) == 8
    assert memory.shape == pos.shape == (3, 2 * k + 2 * 2, C)
    # weighted: a plain sum of LayerNorm outputs has zero gradient
    ((memory * torch.randn_like(memory)).sum() + pos.square().sum()).backward()
    assert feats.grad.abs().sum() > 0
    for name, param in bank.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_key_counts_dense_vs_perceiver_at_sam3_size():
    """7 memory frames of 72x72 x 64: 7*5184 dense vs 7*128 latents."""
    torch.manual_seed(0)
    dense = DenseMemoryBank()
    # default latents (64 global + 8x8 2D); depth 1 only to keep it fast
    perc = PerceiverMemoryBank(
        perceiver=dict(type='SpatialPerceiver', depth=1)).eval()
    assert perc.perceiver.num_latents == 128
    with torch.no_grad():
        for t in range(7):
            feats = torch.randn(1, 64, 72, 72)
            dense.append(t, feats, None, torch.randn(1, 256), t == 0)
            perc.append(t, feats, None, torch.randn(1, 256), t == 0)
        dm, _ = dense.gather()
        pm, _ = perc.gather()
    ptr = 7 * 4
    assert dm.shape == (1, 7 * 5184 + ptr, 64)
    assert pm.shape == (1, 7 * 128 + ptr, 64)
    assert (7 * 5184 + 16 * 4) / (7 * 128 + 16 * 4) >= 8
