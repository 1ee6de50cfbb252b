# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import os

import pytest
import torch

import esam3  # noqa: F401  (installs the mmcv-lite shim before mmdet imports)

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO_ROOT
