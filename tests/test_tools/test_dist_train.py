# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/dist_train.sh and tools/dist_test.sh with 2 real processes on CPU
(gloo)."""
import glob
import json
import os.path as osp
import pickle
import shutil

import pytest
from esam3_toy_helpers import TOOLS, TOY_CONFIG, free_port, run, tool_env


@pytest.mark.skipif(shutil.which('bash') is None, reason='needs bash')
def test_dist_train_and_test_two_processes(tmp_path):
    wd = str(tmp_path / 'dist')
    env = tool_env(dict(PORT=str(free_port())))
    proc = run([
        'bash',
        osp.join(TOOLS, 'dist_train.sh'), TOY_CONFIG, '2', '--work-dir', wd,
        '--cfg-options', 'train_cfg.max_iters=2'
    ],
               cwd=str(tmp_path),
               env=env,
               timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]

    markers = [json.load(open(osp.join(wd, f'rank{r}.json'))) for r in (0, 1)]
    assert [m['rank'] for m in markers] == [0, 1]
    assert all(m['world_size'] == 2 for m in markers)
    assert all(m['iters_run'] == 2 for m in markers)
    assert markers[0]['pid'] != markers[1]['pid']
    # the sampler split the data: each rank saw its own samples
    assert not set(markers[0]['indices']) & set(markers[1]['indices'])
    # DDP kept the replicas identical
    assert markers[0]['param_checksum'] == pytest.approx(
        markers[1]['param_checksum'], abs=1e-6)
    # only rank 0 saved, exactly one checkpoint file
    assert [m['checkpoints_saved'] for m in markers] == [1, 0]
    assert [osp.basename(p)
            for p in glob.glob(osp.join(wd, '*.pth'))] == ['iter_2.pth']

    # tools/dist_test.sh on the result: strict load on both ranks, the
    # predictions of both ranks collected into one dump
    out = str(tmp_path / 'preds.pkl')
    env = tool_env(dict(PORT=str(free_port())))
    proc = run([
        'bash',
        osp.join(TOOLS, 'dist_test.sh'), TOY_CONFIG,
        osp.join(wd, 'iter_2.pth'), '2', '--work-dir',
        str(tmp_path / 'dist_test'), '--out', out
    ],
               cwd=str(tmp_path),
               env=env,
               timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'toy/mse' in log
    preds = pickle.load(open(out, 'rb'))
    assert sorted(int(p['index']) for p in preds) == list(range(8))
