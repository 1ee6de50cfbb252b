# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Turn a training checkpoint into a small release file.

Keeps only the model weights (``state_dict``) and a minimal ``meta``
(esam3 version, the config text when the checkpoint has it); drops the
optimiser, message hub, parameter schedulers and any ``teacher.`` keys, and
names the result ``OUT-<first 8 hex of sha256>.pth`` (OpenMMLab style).

EMA: mmengine's ``EMAHook`` writes the *averaged* weights into
``state_dict`` and the raw ones, ``module.``-prefixed, into
``ema_state_dict``. By default the raw weights are published; ``--ema``
publishes the averaged ones. Also understood: an un-swapped
``ema_state_dict`` (plain keys = averaged weights) and mmcv-1.x style
``ema_<name_with_underscores>`` buffers inside ``state_dict``.

The output holds only tensors and plain Python values, so it loads with
``torch.load(..., weights_only=True)`` and no allowlist.

Example::

    python tools/model_converters/publish_model.py \
        work_dirs/stage3/iter_20000.pth release/esam3_stage3.pth --ema
"""
import argparse
import hashlib
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

import esam3
from esam3.utils.checkpoint import load_checkpoint_file

DROP_PREFIXES = ('teacher.', )


def _strip_module(state: Dict[str, torch.Tensor]) -> 'OrderedDict':
    if state and all(k.startswith('module.') for k in state):
        return OrderedDict((k[len('module.'):], v) for k, v in state.items())
    return OrderedDict(state)


def select_weights(checkpoint: dict,
                   use_ema: bool) -> Tuple['OrderedDict', str]:
    """Pick raw or EMA weights from a training checkpoint.

    Args:
        checkpoint: the loaded checkpoint.
        use_ema: publish the EMA weights.

    Returns:
        ``(weights, description of the source)``.

    Raises:
        KeyError: ``use_ema`` but the checkpoint has no EMA weights.
    """
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise TypeError('checkpoint holds no state_dict')
    state = _strip_module(state)
    ema = checkpoint.get('ema_state_dict') if 'state_dict' in checkpoint \
        else None
    if isinstance(ema, dict) and any(k.startswith('module.') for k in ema):
        # mmengine EMAHook: state_dict = averaged, ema_state_dict = raw.
        if use_ema:
            return state, 'state_dict (mmengine EMAHook averaged weights)'
        raw = OrderedDict(state)
        for k, v in ema.items():
            if k.startswith('module.') and k[len('module.'):] in raw:
                raw[k[len('module.'):]] = v
        return raw, 'ema_state_dict (mmengine EMAHook raw weights)'
    if isinstance(ema, dict) and ema:
        if use_ema:
            return _strip_module(ema), 'ema_state_dict (averaged weights)'
        return state, 'state_dict (raw weights)'
    ema_keys = {k for k in state if k.startswith('ema_')}
    if ema_keys:
        raw = OrderedDict(
            (k, v) for k, v in state.items() if k not in ema_keys)
        if not use_ema:
            return raw, 'state_dict without ema_ buffers (raw weights)'
        averaged = OrderedDict()
        for k, v in raw.items():
            ema_key = 'ema_' + k.replace('.', '_')
            averaged[k] = state[ema_key] if ema_key in state else v
        return averaged, 'ema_ buffers of state_dict (averaged weights)'
    if use_ema:
        raise KeyError('--ema given but the checkpoint has no EMA weights '
                       '(no ema_state_dict, no ema_ prefixed keys)')
    return state, 'state_dict'


def publish(in_file: str,
            out_file: str,
            use_ema: bool = False,
            drop_prefixes: Tuple[str, ...] = DROP_PREFIXES) -> str:
    """Write the release checkpoint.

    Args:
        in_file: training checkpoint.
        out_file: output path; the final name gets ``-<sha8>`` before the
            extension.
        use_ema: publish EMA weights.
        drop_prefixes: weight-name prefixes to drop.

    Returns:
        The final output path.
    """
    checkpoint = load_checkpoint_file(in_file, map_location='cpu')
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{in_file} is not a checkpoint dict')
    weights, source = select_weights(checkpoint, use_ema)
    weights = OrderedDict(
        (k, v) for k, v in weights.items() if not k.startswith(drop_prefixes))
    meta = dict(esam3_version=esam3.__version__, ema=use_ema)
    old_meta = checkpoint.get('meta') or {}
    config = old_meta.get('cfg', old_meta.get('config')) \
        if isinstance(old_meta, dict) else None
    if isinstance(config, str):
        meta['config'] = config
    out_file = osp.abspath(out_file)
    stem, ext = osp.splitext(out_file)
    ext = ext or '.pth'
    os.makedirs(osp.dirname(out_file), exist_ok=True)
    tmp = f'{stem}.tmp{ext}'
    torch.save(dict(state_dict=weights, meta=meta), tmp)
    sha = hashlib.sha256()
    with open(tmp, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            sha.update(block)
    final = f'{stem}-{sha.hexdigest()[:8]}{ext}'
    os.replace(tmp, final)
    print(f'published {len(weights)} tensors from {source} -> {final}')
    return final


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: arguments (default: ``sys.argv[1:]``).

    Returns:
        The parsed namespace.
    """
    parser = argparse.ArgumentParser(
        description='Strip a training checkpoint for release')
    parser.add_argument('in_file', help='input checkpoint')
    parser.add_argument(
        'out_file', help='output checkpoint (a -<sha8> '
        'suffix is added)')
    parser.add_argument(
        '--ema',
        action='store_true',
        help='publish the EMA weights instead of the raw')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    """Entry point.

    Args:
        argv: command-line arguments.

    Returns:
        The final output path.
    """
    args = parse_args(argv)
    return publish(args.in_file, args.out_file, use_ema=args.ema)


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
