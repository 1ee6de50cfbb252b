# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import os

import pytest
import torch

import esam3  # noqa: F401  (installs the mmcv-lite shim before mmdet imports)

# One intra-op thread per test process: the suite runs on 2 xdist workers
# on a 2-core machine, and more threads only add spin-wait contention.
torch.set_num_threads(1)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO_ROOT
