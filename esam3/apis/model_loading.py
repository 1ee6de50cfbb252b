# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Build an inference model (student or teacher) from an esam3 config."""
import os.path as osp
from typing import Optional, Tuple, Union

from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from esam3.registry import MODELS
from esam3.utils.checkpoint import load_student_checkpoint


def load_config(config: Union[str, Config]) -> Config:
    if isinstance(config, Config):
        return config
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    return Config.fromfile(config)


def build_inference_model(config: Union[str, Config],
                          checkpoint: Optional[str] = None,
                          use_teacher: bool = False,
                          device: str = 'cpu') -> Tuple[nn.Module, Config]:
    """The student (``EfficientSAM3``) of a stage config, loaded strictly from
    ``checkpoint``, or the config's frozen teacher for comparison.

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
            # training checkpoints prefix the student with 'student.'
            load_student_checkpoint(model, checkpoint, prefix='student.')
    return model.to(device).eval(), cfg
