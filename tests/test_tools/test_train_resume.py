# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/train.py single process, --resume (auto and explicit) and
tools/test.py, on the toy distiller, as real subprocesses."""
import glob
import json
import os.path as osp
import pickle
import sys

import pytest
import torch
from esam3_toy_helpers import TOOLS, TOY_CONFIG, finish, run, start, train_cmd


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """A: 8 iters uninterrupted. B: 4 iters, then --resume (auto) to 8.
    C: --resume B/iter_4.pth (explicit path) to 8 in a fresh work dir.
    T: tools/test.py on A's final checkpoint. Independent runs overlap."""
    root = tmp_path_factory.mktemp('resume')
    cwd = str(root)
    wd = {k: str(root / k) for k in 'ABCT'}
    procs = []
    try:
        a = start(train_cmd(['--work-dir', wd['A']]), cwd)
        b = start(
            train_cmd([
                '--work-dir', wd['B'], '--cfg-options', 'train_cfg.max_iters=4'
            ]), cwd)
        procs += [a, b]
        finish(a)
        finish(b)
        first_b = sorted(glob.glob(osp.join(wd['B'], 'iter_*.pth')))
        resumed = start(train_cmd(['--work-dir', wd['B'], '--resume']), cwd)
        explicit = start(
            train_cmd([
                '--work-dir', wd['C'], '--resume',
                osp.join(wd['B'], 'iter_4.pth')
            ]), cwd)
        tested = start([
            sys.executable,
            osp.join(TOOLS, 'test.py'), TOY_CONFIG,
            osp.join(wd['A'], 'iter_8.pth'), '--work-dir', wd['T'], '--out',
            osp.join(wd['T'], 'preds.pkl')
        ], cwd)
        procs += [resumed, explicit, tested]
        return dict(
            root=cwd,
            wd=wd,
            first_b=first_b,
            resumed_log=finish(resumed),
            explicit_log=finish(explicit),
            test_log=finish(tested))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _weights(path):
    return torch.load(
        path, map_location='cpu', weights_only=False)['state_dict']


def test_single_process_training_writes_student_only_checkpoints(runs):
    wd = runs['wd']['A']
    ckpts = sorted(osp.basename(p) for p in glob.glob(osp.join(wd, '*.pth')))
    assert ckpts == ['iter_2.pth', 'iter_4.pth', 'iter_6.pth', 'iter_8.pth']
    marker = json.load(open(osp.join(wd, 'rank0.json')))
    assert marker['world_size'] == 1
    assert marker['iters_run'] == 8 and marker['iter'] == 8
    ckpt = torch.load(osp.join(wd, 'iter_8.pth'), weights_only=False)
    assert set(ckpt['state_dict']) == {'student.weight', 'student.bias'}
    assert not any('teacher' in k for k in ckpt['state_dict'])
    assert ckpt['meta']['iter'] == 8
    # training changed the student
    first = _weights(osp.join(wd, 'iter_2.pth'))['student.weight']
    assert not torch.allclose(first, ckpt['state_dict']['student.weight'])
    # the toy config's default dist backend was switched to gloo (no CUDA)
    if not torch.cuda.is_available():
        assert "backend='gloo'" in ckpt['meta']['cfg']


def test_resume_auto_and_explicit_match_uninterrupted(runs):
    wd = runs['wd']
    assert [osp.basename(p)
            for p in runs['first_b']] == ['iter_2.pth', 'iter_4.pth']
    assert 'resumed' in runs['resumed_log'].lower()
    assert 'iter_4.pth' in runs['resumed_log']
    ref = _weights(osp.join(wd['A'], 'iter_8.pth'))
    for name in 'BC':
        got = _weights(osp.join(wd[name], 'iter_8.pth'))
        assert set(got) == set(ref)
        for k in ref:
            assert torch.allclose(got[k], ref[k], atol=1e-6), (name, k)
    # the resumed runs really only ran iterations 5..8
    for name in 'BC':
        marker = json.load(open(osp.join(wd[name], 'rank0.json')))
        assert marker['iter'] == 8 and marker['iters_run'] == 4


def test_raw_resume_checkpoint_needs_the_weights_only_fix(runs):
    """Plain torch.load(weights_only=True) refuses an mmengine training
    checkpoint; with esam3's allowlist it (and mmengine's loader) works."""
    path = osp.join(runs['wd']['A'], 'iter_4.pth')
    code = ('import sys, torch; '
            'torch.load(sys.argv[1], map_location="cpu", weights_only=True)')
    proc = run([sys.executable, '-c', code, path], cwd=runs['root'])
    if proc.returncode == 0:
        pytest.skip('this torch loads mmengine checkpoints weights-only')
    assert 'UnpicklingError' in proc.stderr or 'Unsupported global' in \
        proc.stderr, proc.stderr[-2000:]

    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import _load_checkpoint

    from esam3.utils.checkpoint import (load_checkpoint_file,
                                        register_mmengine_safe_globals)
    register_mmengine_safe_globals()
    ckpt = load_checkpoint_file(path)
    scalars = ckpt['message_hub']['log_scalars']
    assert isinstance(scalars['train/loss'], HistoryBuffer)
    assert scalars['train/loss'].mean() > 0
    assert _load_checkpoint(path, map_location='cpu')['meta']['iter'] == 4


def test_test_tool_loads_strictly_and_dumps_predictions(runs):
    ckpt = osp.join(runs['wd']['A'], 'iter_8.pth')
    out = osp.join(runs['wd']['T'], 'preds.pkl')
    log = runs['test_log']
    assert '(strict)' in log and 'toy/mse' in log
    preds = pickle.load(open(out, 'rb'))
    assert len(preds) == 8
    assert sorted(int(p['index']) for p in preds) == list(range(8))
    # predictions come from the trained weights, not a fresh init
    w = _weights(ckpt)
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    expect = x @ w['student.weight'].T + w['student.bias']
    got = torch.stack(
        [p['pred'] for p in sorted(preds, key=lambda p: int(p['index']))])
    assert torch.allclose(got, expect, atol=1e-5)
