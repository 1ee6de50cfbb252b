# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .mmcv_compat import (MissingMMCVOpError, has_compiled_mmcv_ops,
                          install_mmcv_ext_stub)

__all__ = [
    'MissingMMCVOpError', 'has_compiled_mmcv_ops', 'install_mmcv_ext_stub'
]
