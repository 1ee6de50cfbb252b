# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""esam3.utils.checkpoint: strict student loading and the weights-only
allowlist."""
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from esam3.utils.checkpoint import (CheckpointMismatchError,
                                    extract_state_dict, load_checkpoint_file,
                                    load_student_checkpoint,
                                    register_mmengine_safe_globals)


class Net(nn.Module):

    def __init__(self, width: int = 3):
        super().__init__()
        self.a = nn.Linear(width, 2)
        self.b = nn.Linear(2, 2)


def test_loads_nested_flat_and_ddp_prefixed(tmp_path):
    src = Net()
    wrapped = {'module.' + k: v for k, v in src.state_dict().items()}
    for i, ckpt in enumerate([
            dict(state_dict=src.state_dict(), meta=dict(iter=3)),
            src.state_dict(), wrapped,
            dict(model=src.state_dict())
    ]):
        path = tmp_path / f'{i}.pth'
        torch.save(ckpt, str(path))
        dst = Net()
        loaded = load_student_checkpoint(dst, str(path))
        for k, v in src.state_dict().items():
            assert torch.equal(dst.state_dict()[k], v)
        if i == 0:
            assert loaded['meta']['iter'] == 3


def test_strict_error_lists_keys_counts_and_path(tmp_path):
    model = Net()
    state = {f'extra.{i:02d}': torch.zeros(1) for i in range(12)}
    state['a.weight'] = torch.zeros(2, 3)
    path = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict=state), path)
    before = model.a.weight.detach().clone()
    with pytest.raises(CheckpointMismatchError) as info:
        load_student_checkpoint(model, path)
    msg = str(info.value)
    assert path in msg
    assert '3 missing keys' in msg
    for k in ('a.bias', 'b.weight', 'b.bias'):
        assert k in msg
    assert '12 unexpected keys' in msg
    assert 'extra.00' in msg and 'extra.09' in msg
    assert 'extra.10' not in msg and '+2 more' in msg
    assert torch.equal(model.a.weight, before)  # nothing loaded


def test_shape_mismatch_is_reported(tmp_path):
    path = str(tmp_path / 'wide.pth')
    torch.save(Net(width=5).state_dict(), path)
    with pytest.raises(
            CheckpointMismatchError,
            match=r'a\.weight: '
            r'checkpoint \(2, 5\) vs model \(2, 3\)'):
        load_student_checkpoint(Net(width=3), path)


def test_non_strict_loads_matching_keys_and_warns(tmp_path):
    src = Net()
    state = {k: v for k, v in src.state_dict().items() if k.startswith('a.')}
    state['zzz'] = torch.ones(1)
    path = str(tmp_path / 'part.pth')
    torch.save(state, path)
    dst = Net()
    with pytest.warns(UserWarning, match='unexpected keys'):
        load_student_checkpoint(dst, path, strict=False)
    assert torch.equal(dst.a.weight, src.a.weight)


def test_missing_file_names_the_path(tmp_path):
    path = str(tmp_path / 'nowhere' / 'x.pth')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        load_student_checkpoint(Net(), path)


def test_extract_state_dict_rejects_non_mappings():
    with pytest.raises(TypeError):
        extract_state_dict([1, 2])


def test_allowlist_loads_numpy_and_history_buffer(tmp_path):
    from mmengine.logging import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(2.5)
    path = str(tmp_path / 'meta.pth')
    torch.save(
        dict(
            arr=np.arange(4, dtype=np.float32),
            scalar=np.float64(0.25),
            dtype=np.dtype('int64'),
            buf=buf), path)
    register_mmengine_safe_globals()
    out = load_checkpoint_file(path)
    assert out['arr'].dtype == np.float32 and out['arr'][3] == 3
    assert out['scalar'] == 0.25 and out['dtype'] == np.dtype('int64')
    assert out['buf'].mean() == pytest.approx(2.0)
    assert out['buf'].current() == pytest.approx(2.5)


class _Evil:
    """Pickles as getattr(numpy.ndarray, 'tofile') - not allowed."""

    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


def test_restricted_getattr_refuses_other_attributes(tmp_path):
    register_mmengine_safe_globals()
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(x=_Evil()), path)
    with pytest.raises(pickle.UnpicklingError, match='refuses getattr'):
        torch.load(path, weights_only=True)
