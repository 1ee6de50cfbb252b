# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Strict loading of local (ImageNet) checkpoints into timm feature models.

timm's ``features_only`` wrappers flatten nested sequentials, so a classifier
checkpoint key ``stages.0.blocks.1.conv.weight`` lives at
``stages_0.blocks.1.conv.weight`` in the feature model, and the classifier
head is gone. :func:`match_state_dict` maps checkpoint keys onto the feature
model by a canonical form (``_`` and ``.`` treated alike), ignores exactly
the keys the feature model drops on purpose (head / final norm, given as
``dropped_keys``) and the non-persistent buffers older checkpoints still
carry, and reports everything else: missing keys, unexpected keys and shape
mismatches.
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Tuple

import torch
from torch import Tensor

NESTED_KEYS = ('state_dict', 'model')
STRIP_PREFIXES = ('module.', 'timm_model.')


@dataclass
class KeyReport:
    """What did not match between a checkpoint and a model.

    Attributes:
        missing: model keys without a checkpoint tensor.
        unexpected: checkpoint keys the model has no place for.
        mismatched: ``(key, checkpoint shape, model shape)`` triples.
        ignored: checkpoint keys dropped on purpose (classifier head, ...).
    """

    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every model key got a tensor of the right shape."""
        return not (self.missing or self.unexpected or self.mismatched)

    def format(self, path: str, max_keys: int = 10) -> str:
        """Human-readable summary listing the first ``max_keys`` of each kind.

        Args:
            path: checkpoint path, named in the message.
            max_keys: how many keys of each kind to list.

        Returns:
            str: a multi-line message.
        """

        def _list(keys: List, what: str) -> str:
            shown = ', '.join(str(k) for k in keys[:max_keys])
            more = f', ... (+{len(keys) - max_keys} more)' \
                if len(keys) > max_keys else ''
            return f'  {what} ({len(keys)}): [{shown}{more}]'

        mism = [
            f'{k}: checkpoint {tuple(a)} vs model {tuple(b)}'
            for k, a, b in self.mismatched
        ]
        return '\n'.join([
            f'checkpoint {path} does not match the model:',
            _list(self.missing, 'missing keys'),
            _list(self.unexpected, 'unexpected keys'),
            _list(mism, 'shape mismatches'),
        ])


def load_state_dict_file(path: str) -> Dict[str, Tensor]:
    """Read a ``.pth`` / ``.pt`` / ``.bin`` / ``.safetensors`` state dict.

    Dicts nested under ``'state_dict'`` or ``'model'`` (possibly several
    levels) are unwrapped. ``.pth`` files are read with
    ``weights_only=True``: plain tensor checkpoints only, no pickled code.

    Args:
        path: local file path.

    Returns:
        dict: parameter name -> tensor.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        TypeError: the file holds no tensor dict.
    """
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint_path not found: {path}')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        ckpt = load_file(path, device='cpu')
    else:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    while isinstance(ckpt, Mapping):
        nested = [k for k in NESTED_KEYS if isinstance(ckpt.get(k), Mapping)]
        if not nested:
            break
        ckpt = ckpt[nested[0]]
    if not isinstance(ckpt, Mapping) or not all(
            isinstance(v, Tensor) for v in ckpt.values()):
        raise TypeError(f'{path} does not hold a tensor state dict')
    return dict(ckpt)


def _canonical(key: str) -> str:
    for prefix in STRIP_PREFIXES:  # DDP wrapper, then TimmBackbone's own
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key.replace('_', '.')


def _canonical_index(keys: Iterable[str]) -> Dict[str, str]:
    index: Dict[str, str] = {}
    for key in keys:
        canon = _canonical(key)
        if canon in index:
            raise RuntimeError(f'ambiguous parameter names {index[canon]} and '
                               f'{key}: cannot map checkpoint keys')
        index[canon] = key
    return index


def match_state_dict(
    ckpt: Mapping[str, Tensor],
    model_state: Mapping[str, Tensor],
    dropped_keys: Iterable[str] = (),
    ignored_buffers: Iterable[str] = ()
) -> Tuple[Dict[str, Tensor], KeyReport]:
    """Rename checkpoint keys to the model's names and report mismatches.

    Args:
        ckpt: checkpoint state dict (classifier or feature-model naming).
        model_state: ``model.state_dict()`` of the feature model.
        dropped_keys: classifier-model keys that the feature model leaves
            out on purpose; checkpoint keys matching them are ignored.
        ignored_buffers: names of non-persistent buffers of the model;
            checkpoint keys matching them are ignored.

    Returns:
        tuple: the renamed state dict holding only matching tensors of the
        right shape, and a :class:`KeyReport`.
    """
    model_index = _canonical_index(model_state.keys())
    skip = {_canonical(k) for k in dropped_keys}
    skip |= {_canonical(k) for k in ignored_buffers}
    report = KeyReport()
    renamed: Dict[str, Tensor] = {}
    for key, value in ckpt.items():
        canon = _canonical(key)
        target = model_index.get(canon)
        if target is None:
            bucket = report.ignored if canon in skip else report.unexpected
            bucket.append(key)
        elif tuple(value.shape) != tuple(model_state[target].shape):
            report.mismatched.append(
                (key, tuple(value.shape), tuple(model_state[target].shape)))
        else:
            renamed[target] = value
    matched = set(renamed) | {
        model_index[_canonical(k)]
        for k, _, _ in report.mismatched
    }
    report.missing = [k for k in model_state if k not in matched]
    return renamed, report
