# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""RoPE on compressed memory: transformers' EdgeTAM memory attention with
SAM3's weights, 2D latents rotated at their window centres."""
import pytest
import torch
from transformers import Sam3TrackerVideoConfig
from transformers.models.edgetam_video.modeling_edgetam_video import \
    apply_rotary_pos_emb_2d_cross_attn
from transformers.models.sam3_tracker_video import \
    modeling_sam3_tracker_video as hf_video

from esam3.models.memory import (DenseMemoryBank, PerceiverMemoryBank,
                                 Sam3RoPEMemoryAttention,
                                 edgetam_memory_attention_config)
from esam3.utils.checkpoint import CheckpointMismatchError


def _sam3_config(grid, layers=2):
    # the RoPE query grid follows image_size / patch size (14)
    cfg = Sam3TrackerVideoConfig(
        image_size=grid * 14,
        memory_attention_hidden_size=128,
        memory_attention_num_layers=layers,
        memory_attention_feed_forward_hidden_size=128)
    assert list(cfg.memory_attention_rope_feat_sizes) == [grid, grid]
    return cfg


def _pair(grid, bank, layers=2, num_layers=None):
    torch.manual_seed(0)
    cfg = _sam3_config(grid, layers)
    sam3 = hf_video.Sam3TrackerVideoMemoryAttention(cfg).eval()
    ours = Sam3RoPEMemoryAttention(
        edgetam_memory_attention_config(cfg, num_layers),
        bank.key_positions(grid, grid)).eval()
    ours.load_sam3_state_dict(sam3.state_dict())
    return sam3, ours


def test_dense_layout_equals_sam3_memory_attention():
    """Every memory token its own window: exactly SAM3's dense attention
    (weights loaded through the name mapping)."""
    grid, frames, ptrs = 6, 2, 4
    sam3, ours = _pair(grid, DenseMemoryBank())
    hw = grid * grid
    feats = torch.randn(hw, 2, 128)
    pos = torch.randn(hw, 2, 128)
    memory = torch.randn(frames * hw + ptrs, 2, 64)
    memory_pos = torch.randn(frames * hw + ptrs, 2, 64)
    with torch.no_grad():
        ref = sam3(
            feats, memory, pos, memory_pos, num_object_pointer_tokens=ptrs)
        out = ours(
            feats,
            memory,
            pos,
            memory_pos,
            num_object_pointer_tokens=ptrs,
            num_spatial_memory_tokens=frames)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_2d_latent_scores_like_a_dense_token_at_its_window_centre():
    """Same content -> same attention score for every query: a 2D latent of
    window (r, c) and the dense memory token at that window's centre."""
    grid, rows = 15, 5  # 3 x 3 windows, centres 1, 4, 7, 10, 13
    bank = PerceiverMemoryBank(
        perceiver=dict(
            type='SpatialPerceiver', num_global_latents=3, grid_size=rows))
    sam3, ours = _pair(grid, bank)
    centres = bank.key_positions(grid, grid)
    assert centres[:rows, 0].tolist() == [1., 4., 7., 10., 13.]
    assert centres[::rows, 1].tolist() == [1., 4., 7., 10., 13.]
    hw, d = grid * grid, 128
    q = torch.randn(1, 1, hw, d)
    cos, sin = ours.rotary_emb(q, ours.position_ids)
    cos_k, sin_k = ours.rotary_emb(q, ours.position_ids_k)
    n_glob, n_2d = 3, rows * rows
    latents = torch.randn(1, 1, n_glob + n_2d, d)
    q_rot, k_rot = apply_rotary_pos_emb_2d_cross_attn(
        q,
        latents,
        cos,
        sin,
        cos_k,
        sin_k,
        num_k_exclude_rope=0,
        repeat_freqs_k=1)
    scores = q_rot[0, 0] @ k_rot[0, 0].T  # [hw, K]
    for w in (0, 7, 24):
        r, c = divmod(w, rows)
        dense = torch.randn(1, 1, hw, d)
        idx = (3 * r + 1) * grid + (3 * c + 1)  # the window centre token
        dense[0, 0, idx] = latents[0, 0, n_glob + w]
        q_dense, k_dense = hf_video.apply_rotary_pos_emb_2d(
            q, dense, cos, sin, repeat_freqs_k=True)
        torch.testing.assert_close(q_rot, q_dense)
        ref = q_dense[0, 0] @ k_dense[0, 0, idx]
        torch.testing.assert_close(
            scores[:, n_glob + w], ref, rtol=1e-4, atol=1e-4)
    # global latents are not rotated (as EdgeTAM); the old behaviour (no
    # rotation for 2D latents) scores differently
    torch.testing.assert_close(k_rot[0, 0, :n_glob], latents[0, 0, :n_glob])
    unrotated = q_rot[0, 0] @ latents[0, 0, n_glob + 7]
    assert not torch.allclose(unrotated, scores[:, n_glob + 7], atol=1e-3)


def test_uneven_windows_and_fewer_layers():
    bank = PerceiverMemoryBank(
        perceiver=dict(
            type='SpatialPerceiver', num_global_latents=2, grid_size=(4, 4)))
    pos = bank.key_positions(16, 16)
    assert pos[:4, 0].tolist() == [1.5, 5.5, 9.5, 13.5]
    # 2 layers from SAM3's first 2 of 4; the rest are dropped on purpose
    sam3, ours = _pair(16, bank, layers=4, num_layers=2)
    assert len(ours.layers) == 2
    torch.testing.assert_close(ours.layers[1].mlp.up_proj.weight,
                               sam3.layers[1].linear1.weight)
    bad = {
        k: v
        for k, v in sam3.state_dict().items() if 'layer_norm1' not in k
    }
    with pytest.raises(CheckpointMismatchError, match='layer_norm1'):
        ours.load_sam3_state_dict(bad)
    with pytest.raises(ValueError, match='key_positions'):
        ours.set_key_positions(torch.zeros(0, 2))
