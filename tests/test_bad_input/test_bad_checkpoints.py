# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Truncated / zero-byte checkpoints, and ``--resume`` that picks the newest
intact checkpoint of the work dir, resolved relative to it.

Cases that already held (missing file, key / shape mismatches, the
weights-only allowlist) are in ``tests/test_utils/test_checkpoint_utils.py``
and ``tests/test_tools/test_tool_errors.py``; the end-to-end resume runs
are in ``test_bad_train_runs.py``.
"""
import shutil

import pytest
import torch
from esam3_toy_helpers import TOY_CONFIG, load_tool
from mmengine.config import Config
from torch import nn

from esam3.engine import runner_utils as ru
from esam3.engine.work_dir import find_resume_checkpoint
from esam3.utils.checkpoint import (CorruptCheckpointError,
                                    check_checkpoint_file,
                                    load_checkpoint_file,
                                    load_student_checkpoint)


def _save(path, value=1.0):
    torch.save(
        {
            'state_dict': {
                'weight': torch.full((2, 4), value),
                'bias': torch.zeros(2)
            },
            'meta': {}
        }, str(path))
    return path


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path


@pytest.fixture
def broken(tmp_path):
    good = _save(tmp_path / 'good.pth')
    cut = _truncate(_save(tmp_path / 'cut.pth'))
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    return good, cut, empty


def test_load_names_truncated_and_empty_files(broken):
    good, cut, empty = broken
    assert load_checkpoint_file(str(good))['state_dict']['weight'].sum() == 8
    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint_file(str(cut))
    msg = str(info.value)
    assert str(cut) in msg and 'truncated or corrupt' in msg
    assert f'({cut.stat().st_size} bytes)' in msg
    with pytest.raises(CorruptCheckpointError, match=f'{empty}.*0 bytes'):
        load_checkpoint_file(str(empty))
    with pytest.raises(CorruptCheckpointError, match=str(cut)):
        load_student_checkpoint(nn.Linear(4, 2), str(cut))


def test_check_without_loading(broken, monkeypatch):
    good, cut, empty = broken
    monkeypatch.setattr(torch, 'load', None)  # never loads the tensors
    check_checkpoint_file(str(good))
    for path in (cut, empty):
        with pytest.raises(CorruptCheckpointError, match=str(path)):
            check_checkpoint_file(str(path))
    flipped = bytearray(good.read_bytes())
    flipped[100] ^= 0xFF  # inside the first member's data
    (good.parent / 'flipped.pth').write_bytes(bytes(flipped))
    with pytest.raises(CorruptCheckpointError, match='flipped.pth'):
        check_checkpoint_file(str(good.parent / 'flipped.pth'))


def test_disallowed_pickle_names_the_file(tmp_path):
    import pickle

    class Evil:

        def __reduce__(self):
            return (print, ('x', ))

    path = tmp_path / 'evil.pth'
    torch.save({'x': Evil()}, str(path))
    with pytest.raises(pickle.UnpicklingError, match=str(path)):
        load_checkpoint_file(str(path))


def test_test_tool_names_a_truncated_checkpoint(broken, tmp_path):
    test = load_tool('test.py')
    with pytest.raises(CorruptCheckpointError, match=str(broken[1])):
        test.main(
            [TOY_CONFIG,
             str(broken[1]), '--work-dir',
             str(tmp_path / 'w')])


def _work_dir(root, iters=(2, 4), record=4):
    root.mkdir()
    for i in iters:
        _save(root / f'iter_{i}.pth', float(i))
    (root / 'last_checkpoint').write_text(str(root / f'iter_{record}.pth'))
    return root


def test_resume_falls_back_to_newest_intact(tmp_path, monkeypatch):
    logs = []
    monkeypatch.setattr('esam3.engine.work_dir.print_log',
                        lambda msg, **kw: logs.append(msg))
    wd = _work_dir(tmp_path / 'w', iters=(2, 4, 6), record=6)
    _truncate(wd / 'iter_6.pth')  # killed while saving
    (wd / 'iter_4.pth').write_bytes(b'')
    assert find_resume_checkpoint(str(wd)) == str(wd / 'iter_2.pth')
    assert len(logs) == 1
    assert 'iter_6.pth' in logs[0] and 'iter_4.pth' in logs[0]
    assert f'resuming from {wd / "iter_2.pth"}' in logs[0]
    cfg = Config(dict(work_dir=str(wd)))
    ru.apply_resume(cfg, 'auto')
    assert cfg.resume is True and cfg.load_from == str(wd / 'iter_2.pth')


def test_resume_uses_the_copy_not_the_original(tmp_path):
    """``last_checkpoint`` of a copied work dir still names the original's
    absolute path: the copy's own file is used."""
    orig = _work_dir(tmp_path / 'orig')
    copy = tmp_path / 'copy'
    shutil.copytree(orig, copy)
    assert (copy / 'last_checkpoint').read_text() == str(orig / 'iter_4.pth')
    assert find_resume_checkpoint(str(copy)) == str(copy / 'iter_4.pth')
    # last_checkpoint naming a file that no longer exists anywhere: the
    # newest numbered checkpoint is used
    (copy / 'last_checkpoint').write_text('/nowhere/iter_9.pth')
    (copy / 'iter_4.pth').unlink()
    assert find_resume_checkpoint(str(copy)) == str(copy / 'iter_2.pth')
    # a checkpoint kept outside the work dir (CheckpointHook out_dir)
    elsewhere = _save(tmp_path / 'iter_7.pth')
    (copy / 'last_checkpoint').write_text(str(elsewhere))
    assert find_resume_checkpoint(str(copy)) == str(elsewhere)


def test_resume_without_any_intact_checkpoint(tmp_path):
    assert find_resume_checkpoint(str(tmp_path / 'none')) is None
    wd = _work_dir(tmp_path / 'w', iters=(2, ), record=2)
    _truncate(wd / 'iter_2.pth')
    with pytest.raises(CorruptCheckpointError) as info:
        find_resume_checkpoint(str(wd))
    assert str(wd) in str(info.value) and 'iter_2.pth' in str(info.value)
    cfg = Config(dict(work_dir=str(wd)))
    with pytest.raises(CorruptCheckpointError, match='iter_2.pth'):
        ru.apply_resume(cfg, str(wd / 'iter_2.pth'))  # explicit: no fallback
