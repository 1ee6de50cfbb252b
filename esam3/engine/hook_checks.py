# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Check hook arguments in a config before the runner starts training.

mmengine builds the hooks when the runner is built, but ``CheckpointHook``
takes ``**kwargs`` (forwarded to ``Runner.save_checkpoint`` at the first
save), so a misspelt key such as ``default_hooks.checkpoint.intervall``
only fails after the first checkpoint interval, losing that work. Hooks
without ``**kwargs`` fail at build time already, but with a bare
``TypeError`` that names neither the config key nor the hook.
"""
import difflib
import inspect
from typing import Iterable, List, Set, Tuple

from mmengine.config import Config

# Hook config keys mmengine itself consumes (not passed to __init__).
_RUNNER_KEYS = {'type', 'priority'}
# What CheckpointHook passes to Runner.save_checkpoint by itself: extra
# keys may only be other parameters of save_checkpoint.
_CKPT_HOOK_PASSES = {
    'self', 'out_dir', 'filename', 'file_client_args', 'save_optimizer',
    'save_param_scheduler', 'meta', 'by_epoch', 'backend_args'
}


class HookConfigError(TypeError):
    """A hook config holds a key its hook does not accept."""


def _hook_entries(cfg: Config) -> Iterable[Tuple[str, dict]]:
    for name, hook in (cfg.get('default_hooks', None) or {}).items():
        if isinstance(hook, dict):
            yield f'default_hooks.{name}', hook
    for k, hook in enumerate(cfg.get('custom_hooks', None) or []):
        if isinstance(hook, dict):
            yield f'custom_hooks[{k}]', hook


def accepted_keys(hook_cls: type) -> Tuple[Set[str], bool]:
    """Keys a hook config may hold, and whether that set is complete.

    Args:
        hook_cls: the hook class.

    Returns:
        ``(keys, complete)``: ``complete`` is False when ``__init__`` takes
        ``**kwargs`` that go somewhere this check cannot see.
    """
    from mmengine.hooks import CheckpointHook
    from mmengine.runner import Runner
    if hook_cls.__init__ is object.__init__:  # no arguments at all
        return set(_RUNNER_KEYS), True
    params = inspect.signature(hook_cls.__init__).parameters
    keys = {
        n
        for n, p in params.items()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    } - {'self'}
    has_kwargs = any(p.kind == p.VAR_KEYWORD for p in params.values())
    if not has_kwargs:
        return keys | _RUNNER_KEYS, True
    if issubclass(hook_cls, CheckpointHook):
        extra = set(inspect.signature(
            Runner.save_checkpoint).parameters) - _CKPT_HOOK_PASSES
        return keys | extra | _RUNNER_KEYS, True
    return keys | _RUNNER_KEYS, False


def check_hook_args(cfg: Config, config_path: str = '') -> List[str]:
    """Fail before training on a hook key its hook does not accept.

    Args:
        cfg: the final config (``default_scope`` decides the registry).
        config_path: config file, named in the error.

    Returns:
        Locations of the hooks that were checked (for logging / tests).

    Raises:
        HookConfigError: names the config key (``default_hooks.checkpoint.
            intervall``), the hook class, the config file and close
            matches among the accepted keys.
    """
    from mmengine.registry import DefaultScope

    from esam3.registry import HOOKS
    checked = []
    scope = cfg.get('default_scope', None) or 'esam3'
    with DefaultScope.overwrite_default_scope(scope):
        for where, hook in _hook_entries(cfg):
            hook_type = hook.get('type', None)
            if isinstance(hook_type, str):
                hook_cls = HOOKS.get(hook_type)
            else:
                hook_cls = hook_type
            if not inspect.isclass(hook_cls):
                continue  # unknown types are reported by the runner build
            keys, complete = accepted_keys(hook_cls)
            if not complete:
                continue
            for key in hook:
                if key in keys:
                    continue
                close = difflib.get_close_matches(key, sorted(keys), n=3)
                hint = f' Did you mean {", ".join(close)}?' if close else ''
                raise HookConfigError(
                    f'{where}.{key}: {hook_cls.__name__} has no argument '
                    f'"{key}" (config {config_path or "?"}).{hint} '
                    f'Accepted: {", ".join(sorted(keys - _RUNNER_KEYS))}')
            checked.append(where)
    return checked


__all__ = ['HookConfigError', 'accepted_keys', 'check_hook_args']
