# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from esam3.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_plugin_head_swaps_in_by_config(monkeypatch):
    monkeypatch.syspath_prepend(REPO)
    cfg = Config.fromfile(
        osp.join(
            REPO,
            'projects/light_align_head/configs/stage1_tiny_light_head.py'))
    import_modules_from_strings(**cfg.custom_imports)
    trunk = MODELS.build(cfg.model.student.trunk)
    assert type(trunk.neck).__name__ == 'LightAlignHead'
    out = trunk(torch.randn(1, 3, 224, 224))
    assert out.shape == (1, 32, 16, 16)
    out.mean().backward()
    assert trunk.neck.dw.weight.grad is not None
