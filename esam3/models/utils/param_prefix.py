# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Parameters named by a dotted prefix (freezing / unfreezing by config)."""
from typing import List

from torch import nn


def params_under(module: nn.Module, prefix: str) -> List[nn.Parameter]:
    """The parameters of ``module`` whose name is ``prefix`` or starts with
    ``prefix + '.'`` (so ``'neck.outputs.det'`` does not match
    ``'neck.outputs.detector.0.weight'``)."""
    return [
        p for n, p in module.named_parameters()
        if n == prefix or n.startswith(prefix + '.')
    ]
