# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Register every esam3 module and make ``esam3`` the default scope."""
import datetime
import warnings

from mmengine.registry import DefaultScope

from .checkpoint import register_mmengine_safe_globals


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import all esam3 modules so their registries are filled.

    Also allowlists the types in mmengine training checkpoints for
    weights-only ``torch.load`` (see :mod:`esam3.utils.checkpoint`).

    Args:
        init_default_scope: make ``esam3`` the current default scope. If
            another scope is current, a new ``esam3`` scope instance is
            created (with a timestamped name) and becomes current.
    """
    import esam3.datasets  # noqa: F401
    import esam3.engine  # noqa: F401
    import esam3.evaluation  # noqa: F401
    import esam3.models  # noqa: F401
    import esam3.visualization  # noqa: F401

    register_mmengine_safe_globals()
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None and not DefaultScope.check_instance_created('esam3'):
        DefaultScope.get_instance('esam3', scope_name='esam3')
        return
    if current is not None and current.scope_name == 'esam3':
        return
    if current is not None:
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "esam3"; register_all_modules switches it to '
                      '"esam3".')
    stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S_%f')
    DefaultScope.get_instance(f'esam3-{stamp}', scope_name='esam3')
