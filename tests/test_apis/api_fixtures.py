# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Tiny models shared by the API, deploy and demo tests (built once per test
process)."""
import functools
import os.path as osp

import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGE1_TINY = osp.join(REPO, 'configs/stage1/tiny.py')
STAGE2_TINY = osp.join(REPO, 'configs/stage2/tiny.py')
SA1B = osp.join(REPO, 'data/samples/sa1b')
SAV_VIDEO = osp.join(REPO, 'data/samples/sav/sav_000001.mp4')
DAVIS = osp.join(REPO, 'data/samples/davis')


def tiny_num_queries() -> int:
    """DETR queries of the tiny SAM3 (``configs/_base_/models/sam3_tiny.py``):
    with ``score_thr=0`` a concept prompt returns one detection each."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/models/sam3_tiny.py'))
    return cfg.sam3_cfg.config.detr_decoder_config.num_queries


def _build_distiller(config: str, seed: int):
    from mmengine.registry import init_default_scope

    import esam3  # noqa: F401
    from esam3.registry import MODELS
    init_default_scope('esam3')
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model).eval()
    return model, cfg


@functools.lru_cache(maxsize=None)
def stage1_distiller():
    """Stage 1 tiny distiller: EfficientViT-B0 student whose SAM3 heads are
    copied from the tiny random teacher (``model.teacher``)."""
    return _build_distiller(STAGE1_TINY, 0)


@functools.lru_cache(maxsize=None)
def stage2_distiller():
    """Stage 2 tiny distiller: student video tracker (Perceiver memory)
    with heads copied from the tiny SAM3 video teacher."""
    return _build_distiller(STAGE2_TINY, 0)


def sample_image(name: str = 'astronaut.jpg') -> str:
    return osp.join(SA1B, name)


STAGE3_TINY = osp.join(REPO, 'configs/stage3/tiny.py')
DAVIS_CLIP = osp.join(DAVIS, 'JPEGImages/480p/carphone')


@functools.lru_cache(maxsize=None)
def stage3_distiller():
    """Stage 3 tiny distiller: EfficientViT-B0 student with the light neck,
    SAM3 detector + tracker heads and a Perceiver video tracker."""
    return _build_distiller(STAGE3_TINY, 0)
