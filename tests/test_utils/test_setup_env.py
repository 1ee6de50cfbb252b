# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import torch
from mmengine.registry import DefaultScope

from esam3.utils import register_all_modules


def test_register_all_modules_sets_scope_and_allowlist():
    DefaultScope.get_instance('esam3-test-other', scope_name='mmengine')
    register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'esam3'
    register_all_modules()  # idempotent
    assert DefaultScope.get_current_instance().scope_name == 'esam3'

    from esam3.registry import HOOKS, VISUALIZERS
    assert VISUALIZERS.get('Sam3Visualizer') is not None
    assert HOOKS.get('Sam3VisualizationHook') is not None

    from mmengine.logging import HistoryBuffer
    safe = torch.serialization.get_safe_globals()
    assert HistoryBuffer in safe
    names = {entry[1] for entry in safe if isinstance(entry, tuple)}
    assert 'builtins.getattr' in names
    assert 'numpy._core.multiarray._reconstruct' in names
