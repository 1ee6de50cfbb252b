# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .mmcv_compat import (MissingMMCVOpError, has_compiled_mmcv_ops,
                          install_mmcv_ext_stub)

__all__ = [
    'MissingMMCVOpError', 'has_compiled_mmcv_ops', 'install_mmcv_ext_stub'
]
from . import checkpoint, setup_env  # noqa: E402,F401
from .checkpoint import load_student_checkpoint  # noqa: E402,F401
from .checkpoint import register_mmengine_safe_globals
from .setup_env import register_all_modules  # noqa: E402,F401
