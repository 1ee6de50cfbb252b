# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Build Hugging Face SAM-family models from a hub id, a local folder or a
config dict, with errors that say what is wrong and where."""
import copy
import os
import os.path as osp
from typing import Optional, Type, Union

import torch
from transformers import PretrainedConfig, PreTrainedModel

# Nested sub-configs whose ``model_type`` transformers needs to pick the class
# (e.g. the SAM3 ViT backbone inside the vision config). Filled in when a
# plain dict leaves them out, so tiny test configs can be written compactly.
_NESTED_MODEL_TYPES = {
    ('vision_config', 'backbone_config'): 'sam3_vit_model',
}


def _fill_nested_model_types(cfg: dict) -> dict:
    cfg = copy.deepcopy(cfg)
    for (outer, inner), model_type in _NESTED_MODEL_TYPES.items():
        sub = cfg.get(outer)
        if isinstance(sub, dict) and isinstance(sub.get(inner), dict):
            sub[inner].setdefault('model_type', model_type)
    return cfg


def _looks_like_local_path(name: str) -> bool:
    return (name.startswith(('.', '/', '~')) or os.sep in name.strip('/')
            and name.count('/') != 1) or osp.exists(name)


def build_hf_model(model_cls: Type[PreTrainedModel],
                   config_cls: Type[PretrainedConfig],
                   pretrained: Optional[str] = None,
                   config: Optional[Union[dict, PretrainedConfig]] = None,
                   seed: int = 0,
                   **from_pretrained_kwargs) -> PreTrainedModel:
    """Build ``model_cls`` from exactly one of ``pretrained`` or ``config``.

    Args:
        model_cls: transformers model class, e.g. ``Sam3Model``.
        config_cls: its config class, e.g. ``Sam3Config``.
        pretrained: a Hugging Face hub id (``'facebook/sam3'``, needs the
            weights in the local HF cache when offline) or a local folder
            written by ``save_pretrained``.
        config: a config object or a plain dict of config kwargs (random
            weights; used for tiny test models).
        seed: seed of the random initialisation from ``config``. Random
            teachers are not saved in checkpoints, so every process (train,
            test, feature cache, demos) must rebuild the same one; the
            global RNG state is left untouched.

    Returns:
        The model, in eval mode.

    Raises:
        ValueError: when both or neither of ``pretrained``/``config`` given.
        FileNotFoundError: when ``pretrained`` is a local path that does not
            exist or holds no ``config.json``.
        OSError: when a hub id cannot be resolved (re-raised with a hint).
    """
    if (pretrained is None) == (config is None):
        raise ValueError(
            f'{model_cls.__name__}: give exactly one of `pretrained` '
            f'(hub id or local folder) or `config` (dict), got '
            f'pretrained={pretrained!r}, config={type(config).__name__}')
    if config is not None:
        if isinstance(config, dict):
            config = config_cls(**_fill_nested_model_types(config))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return model_cls(config).eval()

    path = osp.expanduser(pretrained)
    if _looks_like_local_path(pretrained):
        if not osp.isdir(path):
            raise FileNotFoundError(
                f'{model_cls.__name__}: pretrained folder not found: {path}')
        if not osp.isfile(osp.join(path, 'config.json')):
            raise FileNotFoundError(
                f'{model_cls.__name__}: {path} has no config.json; expected '
                'a folder written by save_pretrained()')
    try:
        return model_cls.from_pretrained(path, **from_pretrained_kwargs).eval()
    except OSError as err:
        raise OSError(
            f'{model_cls.__name__}: could not load weights from '
            f'{pretrained!r}. Real SAM-family weights cannot be downloaded '
            'here: pass a local folder (save_pretrained layout) or a hub id '
            f'already in the local Hugging Face cache. Original error: {err}'
        ) from err
