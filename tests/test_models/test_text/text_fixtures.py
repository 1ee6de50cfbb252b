# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Tiny text students / teachers shared by the text tests."""
import os.path as osp

from mmengine.config import Config

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def tiny_sam3_cfg() -> dict:
    return Config.fromfile(
        osp.join(REPO, 'configs/_base_/models/sam3_tiny.py')).sam3_cfg


def tiny_lite_text_cfg(layers: int = 3) -> dict:
    """``Sam3LiteTextTextConfig`` kwargs of a tiny text student."""
    return dict(
        hidden_size=16,
        intermediate_size=32,
        projection_dim=16,
        num_hidden_layers=layers,
        num_attention_heads=2,
        max_position_embeddings=32)


def tiny_text_student(**kw) -> dict:
    cfg = dict(
        type='Sam3LiteTextStudent',
        config=tiny_lite_text_cfg(),
        out_channels=32)
    cfg.update(kw)
    return cfg
