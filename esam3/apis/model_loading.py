# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Build an inference model (student or teacher) from an esam3 config."""
import os.path as osp
from typing import Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from esam3.registry import MODELS


def load_config(config: Union[str, Config]) -> Config:
    if isinstance(config, Config):
        return config
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    return Config.fromfile(config)


def _student_state_dict(checkpoint: str) -> dict:
    """Student weights from a training checkpoint (``student.`` prefixed
    keys of a distiller) or a published one (plain keys)."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=False)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{checkpoint} holds no state_dict')
    if any(k.startswith('student.') for k in state):
        state = {k[len('student.'):]: v for k, v in state.items()
                 if k.startswith('student.')}
    return state


def load_strict(model: nn.Module, state: dict, source: str) -> None:
    """``load_state_dict(strict=True)`` with an error naming the keys."""
    own = set(model.state_dict())
    missing = sorted(own - set(state))
    unexpected = sorted(set(state) - own)
    if missing or unexpected:
        raise KeyError(
            f'checkpoint {source} does not match the model: '
            f'{len(missing)} missing keys {missing[:10]}, '
            f'{len(unexpected)} unexpected keys {unexpected[:10]}')
    model.load_state_dict(state, strict=True)


def build_inference_model(config: Union[str, Config],
                          checkpoint: Optional[str] = None,
                          use_teacher: bool = False,
                          device: str = 'cpu') -> Tuple[nn.Module, Config]:
    """The student (``EfficientSAM3``) of a stage config, loaded strictly
    from ``checkpoint``, or the config's frozen teacher for comparison.

    Returns:
        (model in eval mode on ``device``, config).
    """
    cfg = load_config(config)
    init_default_scope(cfg.get('default_scope', 'esam3'))
    model_cfg = cfg.model
    if use_teacher:
        if model_cfg.get('teacher') is None:
            raise ValueError('this config has no teacher')
        model = MODELS.build(model_cfg.teacher)
    else:
        student_cfg = model_cfg.get('student', model_cfg)
        model = MODELS.build(student_cfg)
        if checkpoint is not None:
            load_strict(model, _student_state_dict(checkpoint), checkpoint)
    return model.to(device).eval(), cfg
