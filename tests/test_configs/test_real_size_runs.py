# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""The README's "Train on real data" and "Evaluate" commands, run as written on
a mirror of the official data layouts with a random real-size SAM3 standing in
for the gated weights (``tools/misc/make_random_sam3.py``).

One real-size config per stage (RepViT-M1.1 at 1008 px, the real SAM3
teacher architecture) trains one iteration through ``tools/train.py`` and is
evaluated through ``tools/test.py``; Stage 2 starts from the Stage 1
checkpoint and Stage 3 from the Stage 2 one, as in the README. Batch 1 and
small instance / object / frame counts keep it to a few minutes on 2 CPU
cores; the models are the real ones (10-16 GB of RAM per process), so the
tests of this module run one after the other in one process (pytest-xdist
``--dist loadfile``). Deselect with ``-m "not realsize"``.
"""
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

import pytest
import torch

pytestmark = pytest.mark.realsize

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = 'repvit_m1_1'


def _load_tool(rel: str):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(rel))[0], osp.join(REPO, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """The mirror (cwd of every command), the random SAM3 folder and a place
    for work dirs and checkpoints handed from stage to stage."""
    root = tmp_path_factory.mktemp('real_size')
    mirror = _load_tool(
        'tools/dataset_converters/make_real_layout_mirror.py').make_mirror(
            str(root / 'mirror'))
    weights = _load_tool('tools/misc/make_random_sam3.py').make_random_sam3(
        str(root / 'sam3_random'))
    return dict(
        mirror=mirror, weights=weights, work=str(root / 'work'), ckpt={})


def _run(world: dict, tool: str, *args: str) -> str:
    """Run a tool from the mirror; print its wall time and peak RSS (this is
    how docs/real_size_runs.md was measured: ``pytest -s``)."""
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED='1')
    cmd = [sys.executable, osp.join(REPO, 'tools', tool)] + list(args)
    start = time.time()
    with tempfile.TemporaryFile('w+') as log:
        proc = subprocess.Popen(
            cmd,
            cwd=world['mirror'],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT)
        # wait4: the peak RSS of this child alone
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        out = log.read()
    print(f'\n[real-size] {tool} {osp.relpath(args[0], REPO)}: exit '
          f'{proc.returncode}, {time.time() - start:.0f} s wall, '
          f'{(usage.ru_utime + usage.ru_stime):.0f} s CPU, peak RSS '
          f'{usage.ru_maxrss / 2**20:.1f} GB')
    assert proc.returncode == 0, out[-6000:]
    return out


def _config(stage: str, name: str = STUDENT) -> str:
    return osp.join(REPO, 'configs', stage, f'{name}.py')


def _check_student_only(path: str) -> None:
    ckpt = torch.load(path, map_location='cpu', weights_only=False)
    keys = list(ckpt['state_dict'])
    assert keys and all(k.startswith('student.') for k in keys)


def _train_and_test(world: dict, stage: str, weights: list, extra: list,
                    test_extra: list, metric: str) -> str:
    work = osp.join(world['work'], stage)
    # one iteration, no validation inside training (tools/test.py follows)
    _run(world, 'train.py', _config(stage), '--work-dir', work,
         '--cfg-options', *weights, 'train_cfg.max_iters=1',
         'train_cfg.val_begin=2', *extra)
    ckpt = osp.join(work, 'iter_1.pth')
    _check_student_only(ckpt)
    out = _run(world, 'test.py', _config(stage), ckpt, '--work-dir',
               work + '_test', '--cfg-options', *weights, *test_extra)
    assert metric in out, out[-3000:]
    world['ckpt'][stage] = ckpt
    return ckpt


def test_stage1_real_size(world):
    w = world['weights']
    _train_and_test(
        world,
        'stage1',
        [
            f'model.teacher.pretrained={w}',
            f'model.student.sam3.pretrained={w}'
        ],
        ['train_dataloader.batch_size=1', 'model.max_instances=2'],
        # coins.jpg: one image, few instances
        ['test_dataloader.dataset.indices=[1]', 'model.eval_clicks=1'],
        'student/mIoU/box')


def test_stage2_real_size(world):
    if 'stage1' not in world['ckpt']:
        pytest.skip('needs the Stage 1 checkpoint')
    w = world['weights']
    _train_and_test(
        world,
        'stage2',
        [
            f'model.teacher.pretrained={w}',
            f'model.student.sam3_video.pretrained={w}'
        ],
        [
            f'model.student.trunk_checkpoint={world["ckpt"]["stage1"]}',
            'train_dataloader.batch_size=1',
            'train_dataloader.dataset.num_frames=2', 'model.max_objects=1'
        ],
        # every 4th annotated frame: 3 of the 12
        [
            'test_dataloader.dataset.max_objects=1',
            'test_dataloader.dataset.frame_interval=4'
        ],
        'J&F')


def test_stage3_real_size(world):
    if 'stage2' not in world['ckpt']:
        pytest.skip('needs the Stage 2 checkpoint')
    w = world['weights']
    _train_and_test(world, 'stage3', [
        f'model.teacher.pretrained={w}', f'model.student.sam3.pretrained={w}',
        f'model.student.video.sam3_video.pretrained={w}'
    ], [
        f'model.student.stage2_checkpoint={world["ckpt"]["stage2"]}',
        'train_dataloader.batch_size=1'
    ], ['test_dataloader.dataset.indices=[0]'], 'cgF1')
