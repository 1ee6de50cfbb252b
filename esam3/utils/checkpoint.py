# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Checkpoint loading that works with ``torch.load(weights_only=True)``.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``. mmengine
0.10 calls ``torch.load`` without the argument, and its training checkpoints
(what ``--resume`` loads) hold more than tensors: the MessageHub state
(:class:`mmengine.logging.HistoryBuffer` objects with numpy arrays and
references to the buffer's statistics methods) and numpy scalars / dtypes in
``meta``. Saving one and asking
``torch.serialization.get_unsafe_globals_in_checkpoint`` lists exactly::

    numpy._core.multiarray._reconstruct, numpy._core.multiarray.scalar,
    numpy.ndarray, numpy.dtype, builtins.getattr,
    mmengine.logging.history_buffer.HistoryBuffer

(plus the concrete ``numpy.dtypes.*DType`` classes, needed when a dtype is
rebuilt). :func:`register_mmengine_safe_globals` allowlists those types with
``torch.serialization.add_safe_globals``. ``builtins.getattr`` is *not*
allowlisted: it would let a crafted file reach arbitrary attributes. Instead
a restricted stand-in is registered under that name which only resolves the
statistics methods of ``HistoryBuffer`` (``getattr(HistoryBuffer, 'mean')``
is how pickle references them). Nothing sets
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``.

:func:`load_student_checkpoint` loads weights into a model strictly and
reports mismatches by key.
"""
import inspect
import os
import os.path as osp
import pickle
import zipfile
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

_REGISTERED: List[Union[Callable, Tuple[Callable, str]]] = []


class CheckpointMismatchError(RuntimeError, KeyError):
    """A checkpoint's keys or shapes do not match the model (strict load).

    A ``RuntimeError`` and, since it is about keys, also a ``KeyError``.
    """

    __str__ = RuntimeError.__str__


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is empty, truncated or otherwise unreadable."""


def check_checkpoint_file(path: str) -> None:
    """Cheap integrity check of a ``torch.save`` file, without loading it.

    ``torch.save`` writes a zip archive whose central directory comes last,
    so a file cut short (a run killed while saving) or a zero-byte file has
    none; the member CRCs catch bytes damaged in place.

    Args:
        path: local checkpoint file.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        CorruptCheckpointError: empty, not a zip archive (truncated or a
            legacy / foreign format) or a member fails its CRC; the message
            names the file and its size.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    size = osp.getsize(path)
    if size == 0:
        raise CorruptCheckpointError(f'checkpoint {path} is empty (0 bytes)')
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise CorruptCheckpointError(
            f'checkpoint {path} ({size} bytes) is truncated or corrupt: '
            f'{err}') from err
    if bad is not None:
        raise CorruptCheckpointError(
            f'checkpoint {path} ({size} bytes) is corrupt: member {bad} '
            'fails its CRC')


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` limited to the statistics methods of ``HistoryBuffer``.

    Registered as ``builtins.getattr`` for the weights-only unpickler: pickle
    references the functions in ``HistoryBuffer._statistics_methods`` as
    ``getattr(HistoryBuffer, 'mean')``.

    Args:
        obj: the object pickle asks an attribute of.
        name: attribute name.

    Returns:
        The statistics method (a plain function).

    Raises:
        pickle.UnpicklingError: for anything else.
    """
    import pickle
    import types

    from mmengine.logging import HistoryBuffer
    if (isinstance(obj, type) and issubclass(obj, HistoryBuffer)
            and isinstance(name, str) and not name.startswith('_')):
        # Plain functions defined on the class (mean, max, min, current, and
        # methods added by ``HistoryBuffer.register_statistics``). The
        # unpickler cannot call them: they are not allowlisted callables.
        value = inspect.getattr_static(obj, name, None)
        if isinstance(value, types.FunctionType):
            return value
    raise pickle.UnpicklingError(
        f'esam3 weights-only loading refuses getattr({obj!r}, {name!r}): only '
        'HistoryBuffer statistics methods are allowed')


def _numpy_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """Numpy types needed to rebuild arrays, scalars and dtypes.

    Registered under both the numpy 1.x (``numpy.core``) and numpy 2.x
    (``numpy._core``) module paths so checkpoints written with either load.
    """
    try:
        multiarray = np._core.multiarray  # numpy >= 2
    except AttributeError:  # pragma: no cover - numpy 1.x
        multiarray = np.core.multiarray
    items: List[Union[Callable, Tuple[Callable, str]]] = [np.ndarray, np.dtype]
    for fn_name in ('_reconstruct', 'scalar'):
        fn = getattr(multiarray, fn_name)
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            items.append((fn, f'{module}.{fn_name}'))
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            cls = getattr(dtypes, name)
            if isinstance(cls, type) and issubclass(cls, np.dtype):
                items.append(cls)
    else:  # pragma: no cover - numpy < 1.25
        for code in '?bBhHiIlLqQefdgFDGSUVOMm':
            try:
                items.append(type(np.dtype(code)))
            except TypeError:
                pass
    return items


def mmengine_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The allowlist that mmengine training checkpoints need.

    Returns:
        Entries for ``torch.serialization.add_safe_globals``.
    """
    from mmengine.logging import HistoryBuffer
    return _numpy_safe_globals() + [
        HistoryBuffer,
        OrderedDict,
        (_history_buffer_getattr, 'builtins.getattr'),
    ]


def register_mmengine_safe_globals(
) -> List[Union[Callable, Tuple[Callable, str]]]:
    """Allowlist mmengine's checkpoint types for weights-only ``torch.load``.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    Called by ``tools/train.py``, ``tools/test.py`` and
    :func:`esam3.utils.setup_env.register_all_modules`.

    Returns:
        The registered entries.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # pragma: no cover - torch < 2.4
        return []
    if not _REGISTERED:
        _REGISTERED.extend(mmengine_safe_globals())
    add(list(_REGISTERED))
    return list(_REGISTERED)


def load_checkpoint_file(path: str,
                         map_location: Union[str,
                                             torch.device] = 'cpu') -> Any:
    """``torch.load(path, weights_only=True)`` with the mmengine allowlist.

    Args:
        path: local checkpoint file.
        map_location: passed to ``torch.load``.

    Returns:
        The loaded object.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        CorruptCheckpointError: empty, truncated or corrupt (names the file
            and its size).
        pickle.UnpicklingError: a type outside the allowlist (names the
            file).
    """
    path = osp.expanduser(str(path))
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    size = os.path.getsize(path)
    if size == 0:
        raise CorruptCheckpointError(f'checkpoint {path} is empty (0 bytes)')
    register_mmengine_safe_globals()
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(f'checkpoint {path}: {err}') from err
    except (EOFError, RuntimeError, zipfile.BadZipFile, ValueError) as err:
        # torch says e.g. "PytorchStreamReader failed reading zip archive"
        # or a bare EOFError, without the file
        first = str(err).splitlines()[0][:200] if str(err) else ''
        raise CorruptCheckpointError(
            f'cannot read checkpoint {path} ({size} bytes): truncated or '
            f'corrupt ({type(err).__name__}: {first})') from err


def extract_state_dict(checkpoint: Any) -> Dict[str, torch.Tensor]:
    """The model weights of a raw or ``state_dict``-nested checkpoint.

    Accepts ``{'state_dict': ...}`` (mmengine), ``{'model': ...}``, or a
    plain mapping of tensors; strips a ``module.`` prefix present on every
    key (weights saved from a DDP-wrapped model).

    Args:
        checkpoint: the object ``torch.load`` returned.

    Returns:
        An ordered mapping of parameter names to tensors.

    Raises:
        TypeError: no mapping of weights could be found.
    """
    state = checkpoint
    if isinstance(state, Mapping):
        for key in ('state_dict', 'model'):
            if key in state and isinstance(state[key], Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping):
        raise TypeError(f'expected a state dict, got {type(state).__name__}')
    state = OrderedDict(state)
    if state and all(k.startswith('module.') for k in state):
        state = OrderedDict((k[len('module.'):], v) for k, v in state.items())
    return state


def _key_summary(title: str, keys: List[str], limit: int = 10) -> str:
    shown = ', '.join(keys[:limit])
    more = f', ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return f'{len(keys)} {title}: [{shown}{more}]'


def describe_mismatch(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor]
) -> Tuple[List[str], List[str], List[str]]:
    """Compare a state dict with a model.

    Args:
        model: the target module.
        state_dict: the weights to load.

    Returns:
        ``(missing, unexpected, shape_mismatch)`` key lists; shape mismatches
        are formatted ``'name: checkpoint (a, b) vs model (c, d)'``.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = []
    for k, v in state_dict.items():
        if k in own and hasattr(v, 'shape') and \
                tuple(v.shape) != tuple(own[k].shape):
            shapes.append(f'{k}: checkpoint {tuple(v.shape)} vs model '
                          f'{tuple(own[k].shape)}')
    return missing, unexpected, shapes


def strip_prefix(state_dict: Mapping[str, torch.Tensor],
                 prefix: str) -> 'OrderedDict[str, torch.Tensor]':
    """The entries under ``prefix`` with it stripped, or all entries when no
    key has it (e.g. ``'student.'`` of a distiller checkpoint applied to an
    already published student checkpoint)."""
    if not any(k.startswith(prefix) for k in state_dict):
        return OrderedDict(state_dict)
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                       if k.startswith(prefix))


def load_state_dict_checked(model: nn.Module,
                            state_dict: Mapping[str, torch.Tensor],
                            source: str,
                            strict: bool = True,
                            logger: Optional[Any] = None) -> None:
    """``model.load_state_dict`` that names what does not match.

    Args:
        model: the module to load into.
        state_dict: the weights.
        source: where they come from, for the message (e.g.
            ``'checkpoint a.pth (keys under "student.")'``).
        strict: raise on missing / unexpected keys or shape mismatches;
            otherwise warn (``logger.warning`` or ``warnings.warn``) and load
            what matches.
        logger: optional logger used when ``strict=False``.

    Raises:
        CheckpointMismatchError: strict loading found mismatches; the message
            names the source and lists the first 10 missing / unexpected /
            mis-shaped keys with their counts.
    """
    missing, unexpected, shapes = describe_mismatch(model, state_dict)
    if missing or unexpected or shapes:
        lines = [f'{source} does not match {type(model).__name__}:']
        if missing:
            lines.append('  ' + _key_summary('missing keys', missing))
        if unexpected:
            lines.append('  ' + _key_summary('unexpected keys', unexpected))
        if shapes:
            lines.append('  ' + _key_summary('shape mismatches', shapes))
        message = '\n'.join(lines)
        if strict:
            raise CheckpointMismatchError(message)
        if logger is not None:
            logger.warning(message)
        else:
            import warnings
            warnings.warn(message)
        bad = {s.split(':', 1)[0] for s in shapes}
        state_dict = OrderedDict(
            (k, v) for k, v in state_dict.items() if k not in bad)
    model.load_state_dict(state_dict, strict=strict)


def load_student_checkpoint(model: nn.Module,
                            path: str,
                            strict: bool = True,
                            map_location: Union[str, torch.device] = 'cpu',
                            logger: Optional[Any] = None,
                            prefix: Optional[str] = None) -> Any:
    """Load a (possibly ``state_dict``-nested) checkpoint into ``model``.

    Unlike mmengine's ``load_checkpoint`` (non-strict by default, mismatches
    only logged), a mismatch here is an error unless ``strict=False``.

    Args:
        model: the module to load into (unwrap DDP first, or pass it: the
            ``module.`` prefix is handled on the checkpoint side only).
        path: checkpoint file.
        strict: raise on missing / unexpected keys or shape mismatches.
        map_location: passed to ``torch.load``.
        logger: optional logger (``.warning``) used when ``strict=False``.
        prefix: load only the keys under this prefix, with it stripped
            (e.g. ``'student.'`` of a distiller checkpoint, or
            ``'student.trunk.'``); all keys when none has it.

    Returns:
        The full loaded checkpoint object (e.g. to read its ``meta``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointMismatchError: strict loading found mismatches; the message
            names the file and lists the first 10 missing / unexpected keys
            with their counts.
    """
    checkpoint = load_checkpoint_file(path, map_location=map_location)
    state_dict = extract_state_dict(checkpoint)
    if prefix:
        state_dict = strip_prefix(state_dict, prefix)
    where = f' (keys under "{prefix}")' if prefix else ''
    load_state_dict_checked(
        model,
        state_dict,
        f'checkpoint {path}{where}',
        strict=strict,
        logger=logger)
    return checkpoint
