# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/train.py guards: one run per work dir (lock file), hook keys checked
before training, ``--resume`` after a kill during a save in a copied work dir,
no registry fallback warning, ``--tensorboard``.

Errors that already held (unknown types, missing data roots, missing
``--resume`` file) are in ``tests/test_tools/test_tool_errors.py``; normal
resume parity in ``tests/test_tools/test_train_resume.py``.
"""
import glob
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

import pytest
from esam3_toy_helpers import TOY_CONFIG, load_tool, run_train
from mmengine.config import Config

from esam3.engine.hook_checks import HookConfigError, check_hook_args
from esam3.engine.work_dir import LOCK_FILE, WorkDirLock, WorkDirLockedError


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid  # reaped: no such process any more


@pytest.fixture
def live_pid():
    proc = subprocess.Popen(
        [sys.executable, '-c', 'import time; time.sleep(60)'])
    yield proc.pid
    proc.kill()
    proc.wait()


def _lock(work_dir, pid, host=None):
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, LOCK_FILE), 'w') as f:
        f.write(f'{pid} {host or socket.gethostname()}\n')


# ------------------------------------------------------------------- lock
def test_live_lock_refuses_a_second_run(tmp_path, live_pid):
    wd = str(tmp_path / 'w')
    _lock(wd, live_pid)
    train = load_tool('train.py')
    for extra in ([], ['--resume']):  # a live run is never resumed under
        with pytest.raises(WorkDirLockedError) as info:
            train.main([TOY_CONFIG, '--work-dir', wd] + extra)
        msg = str(info.value)
        assert f'pid {live_pid}' in msg and osp.join(wd, LOCK_FILE) in msg
    assert not glob.glob(osp.join(wd, '*.pth'))  # nothing was trained
    with open(osp.join(wd, LOCK_FILE)) as f:
        assert f.read().split()[0] == str(live_pid)  # left alone


def test_lock_file_protocol(tmp_path, monkeypatch):
    logs = []
    monkeypatch.setattr('esam3.engine.work_dir.print_log',
                        lambda msg, **kw: logs.append(msg))
    wd = str(tmp_path / 'w')
    with WorkDirLock(wd) as lock:
        with open(lock.path) as f:
            assert f.read().split() == [str(os.getpid()), socket.gethostname()]
    assert not osp.exists(osp.join(wd, LOCK_FILE))  # released
    dead = _dead_pid()
    _lock(wd, dead)
    with WorkDirLock(wd):
        assert f'process {dead} is not running' in logs[-1]
    _lock(wd, 1, host='other-node')  # cannot be checked from here
    with pytest.raises(WorkDirLockedError, match='other-node'):
        WorkDirLock(wd).acquire()
    with WorkDirLock(wd, resume=True):
        assert 'other-node' in logs[-1]
    assert not osp.exists(osp.join(wd, LOCK_FILE))


# ------------------------------------------------------------------ hooks
def test_hook_typo_fails_before_training(tmp_path):
    wd = str(tmp_path / 'w')
    train = load_tool('train.py')
    with pytest.raises(HookConfigError) as info:
        train.main([
            TOY_CONFIG, '--work-dir', wd, '--cfg-options',
            'default_hooks.checkpoint.intervall=2'
        ])
    msg = str(info.value)
    assert msg.startswith('default_hooks.checkpoint.intervall: '
                          'CheckpointHook has no argument "intervall"')
    assert 'Did you mean interval?' in msg and TOY_CONFIG in msg
    assert not osp.exists(wd) or not os.listdir(wd)  # nothing written
    with pytest.raises(
            HookConfigError,
            match=r'default_hooks\.logger\.'
            'intervel: LoggerHook'):
        train.main([
            TOY_CONFIG, '--work-dir', wd, '--cfg-options',
            'default_hooks.logger.intervel=2'
        ])


def test_hook_check_accepts_every_shipped_config(repo_root):
    """No false alarm on the configs in the repo (and the toy one)."""
    configs = sorted(
        glob.glob(osp.join(repo_root, 'configs', 'stage*',
                           '*.py'))) + [TOY_CONFIG]
    for path in configs:
        checked = check_hook_args(Config.fromfile(path), path)
        assert 'default_hooks.checkpoint' in checked, path
    cfg = Config.fromfile(TOY_CONFIG)
    cfg.custom_hooks = [dict(type='EmptyCacheHook', after_iterr=True)]
    with pytest.raises(
            HookConfigError,
            match=r'custom_hooks\[0\]\.'
            'after_iterr: EmptyCacheHook.*after_iter'):
        check_hook_args(cfg, TOY_CONFIG)
    cfg.custom_hooks = [dict(type='EMAHook', momentum=0.1, any_key=1)]
    assert 'custom_hooks[0]' not in check_hook_args(cfg)  # **kwargs: open


# -------------------------------------------------------- real train runs
@pytest.fixture(scope='module')
def killed_and_copied(tmp_path_factory):
    """Run A: 4 iters with ``--tensorboard``, over a stale lock. Then A is
    copied to B, B's newest checkpoint cut short (a kill during the save)
    and B resumed to 6 iters."""
    root = tmp_path_factory.mktemp('runs')
    a, b = root / 'A', root / 'B'
    _lock(str(a), _dead_pid())
    first = run_train([
        '--work-dir',
        str(a), '--tensorboard', '--cfg-options', 'train_cfg.max_iters=4'
    ], str(root))
    shutil.copytree(a, b)
    cut = b / 'iter_4.pth'
    cut.write_bytes(cut.read_bytes()[:1000])
    resumed = run_train([
        '--work-dir',
        str(b), '--resume', '--cfg-options', 'train_cfg.max_iters=6'
    ], str(root))
    return dict(
        a=a,
        b=b,
        first=first.stdout + first.stderr,
        resumed=resumed.stdout + resumed.stderr)


def test_stale_lock_taken_over_and_released(killed_and_copied):
    out, a = killed_and_copied['first'], killed_and_copied['a']
    assert 'taking over stale lock' in out and 'is not running' in out
    assert not (a / LOCK_FILE).exists()


def test_resume_after_kill_in_a_copied_work_dir(killed_and_copied):
    a, b = killed_and_copied['a'], killed_and_copied['b']
    out = killed_and_copied['resumed']
    assert str(b / 'iter_4.pth') in out and 'truncated or corrupt' in out
    assert f'resuming from {b / "iter_2.pth"}' in out
    assert f'Load checkpoint from {b / "iter_2.pth"}' in out
    assert 'resumed epoch: 0, iter: 2' in out
    assert 'Iter(train) [3/6]' in out and 'Iter(train) [2/6]' not in out
    # the original work dir is untouched
    assert sorted(glob.glob(str(
        a / '*.pth'))) == [str(a / 'iter_2.pth'),
                           str(a / 'iter_4.pth')]
    assert (a / 'last_checkpoint').read_text().strip() == str(a / 'iter_4.pth')
    assert not (a / 'iter_6.pth').exists()
    assert (b / 'iter_6.pth').exists()
    assert (b / 'last_checkpoint').read_text().strip() == str(b / 'iter_6.pth')


def test_no_registry_fallback_warning(killed_and_copied):
    for out in (killed_and_copied['first'], killed_and_copied['resumed']):
        assert 'Failed to search registry' not in out
        assert 'mmengine - INFO' in out  # the log really is captured


def test_tensorboard_flag_writes_event_files(killed_and_copied):
    events = glob.glob(
        str(killed_and_copied['a'] / '*' / 'vis_data' /
            'events.out.tfevents.*'))
    assert len(events) == 1
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    acc = EventAccumulator(events[0])
    acc.Reload()
    loss_tags = [t for t in acc.Tags()['scalars'] if 'loss' in t]
    assert loss_tags
    steps = [e.step for e in acc.Scalars(loss_tags[0])]
    assert steps == [1, 2, 3, 4]  # logger interval 1, 4 iterations
