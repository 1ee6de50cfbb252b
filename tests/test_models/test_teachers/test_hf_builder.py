# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import pytest
import torch
from transformers import Sam3ViTConfig, Sam3ViTModel

from esam3.models.hf_builder import build_hf_model

TINY_VIT = dict(
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    image_size=56,
    patch_size=14,
    window_size=2,
    global_attn_indexes=[0],
    pretrain_image_size=56)


def test_random_config_builds_are_reproducible_across_processes():
    """A random teacher is not in checkpoints, so train and test processes must
    rebuild the same weights whatever the global RNG state is."""
    torch.manual_seed(123)
    a = build_hf_model(Sam3ViTModel, Sam3ViTConfig, config=TINY_VIT)
    after_a = torch.rand(3)
    torch.manual_seed(999)
    b = build_hf_model(Sam3ViTModel, Sam3ViTConfig, config=TINY_VIT)
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), k
    # the global RNG stream is not consumed by the build
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after_a)
    c = build_hf_model(Sam3ViTModel, Sam3ViTConfig, config=TINY_VIT, seed=1)
    assert not all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                          c.state_dict().values()))


def test_exactly_one_source_required(tmp_path):
    with pytest.raises(ValueError, match='exactly one'):
        build_hf_model(Sam3ViTModel, Sam3ViTConfig)
    with pytest.raises(FileNotFoundError, match='not found'):
        build_hf_model(
            Sam3ViTModel, Sam3ViTConfig, pretrained=str(tmp_path / 'missing'))
    with pytest.raises(FileNotFoundError, match='config.json'):
        build_hf_model(Sam3ViTModel, Sam3ViTConfig, pretrained=str(tmp_path))
