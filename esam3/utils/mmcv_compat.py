# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Let MMDetection's pure-Python parts import on top of ``mmcv-lite``.

``mmcv-lite`` ships mmcv without its compiled extension ``mmcv._ext``.
``mmdet.structures.mask`` imports ``mmcv.ops.roi_align`` at module level, and
``mmcv.ops`` loads ``mmcv._ext`` eagerly, so without this module none of
``mmdet.structures``, ``mmdet.datasets.transforms``, ``mmdet.evaluation`` (e.g.
``CocoMetric``) or ``mmdet.models`` can be imported, although almost all of
their code is plain Python.

:func:`install_mmcv_ext_stub` registers a placeholder ``mmcv._ext`` module
*only* when the real one is missing. Every attribute looked up on the
placeholder is a function that raises :class:`MissingMMCVOpError` naming the
op, so code paths that really need a compiled kernel fail loudly at call time
instead of at import time. With full (compiled) mmcv installed this module
does nothing. Written by hand: no maintained package offers this switch.
"""
import importlib
import importlib.machinery
import sys
import types
from typing import Callable

STUB_MARKER = '__esam3_mmcv_ext_stub__'


class MissingMMCVOpError(RuntimeError):
    """Raised when a compiled mmcv op is called while only mmcv-lite exists."""


def _missing_op(name: str) -> Callable:

    def _raise(*args, **kwargs):
        raise MissingMMCVOpError(
            f'mmcv compiled op "{name}" was called, but only mmcv-lite is '
            'installed (no mmcv._ext). Install full mmcv built for your '
            'torch/CUDA version to use this op, or choose a component that '
            'does not need it.')

    _raise.__name__ = name
    return _raise


def _stub_getattr(name: str) -> Callable:
    if name.startswith('__') and name.endswith('__'):
        raise AttributeError(name)
    return _missing_op(name)


def has_compiled_mmcv_ops() -> bool:
    """Whether the real compiled ``mmcv._ext`` is importable."""
    mod = sys.modules.get('mmcv._ext')
    if mod is not None:
        return not getattr(mod, STUB_MARKER, False)
    try:
        importlib.import_module('mmcv._ext')
    except ImportError:
        return False
    return True


def install_mmcv_ext_stub() -> bool:
    """Install the placeholder ``mmcv._ext`` if the compiled one is missing.

    Returns:
        bool: True if the placeholder is (now) in use, False if the real
        compiled extension is available and nothing was changed.
    """
    if has_compiled_mmcv_ops():
        return False
    stub = types.ModuleType('mmcv._ext')
    stub.__doc__ = 'esam3 placeholder for the missing compiled mmcv ops.'
    setattr(stub, STUB_MARKER, True)
    # A spec without loader: ``importlib.util.find_spec('mmcv._ext')`` (used
    # by mmengine's ``mmcv_full_available()`` when a Runner wraps the model)
    # raises ValueError for a sys.modules entry whose __spec__ is None.
    stub.__spec__ = importlib.machinery.ModuleSpec('mmcv._ext', None)
    stub.__getattr__ = _stub_getattr  # PEP 562 module __getattr__
    sys.modules['mmcv._ext'] = stub
    return True
