# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/analysis_tools/analyze_logs.py: mmengine json scalar logs -> curves
and speed, on hand-written logs and a real toy training run."""
import json

import cv2
import pytest
from esam3_toy_helpers import load_tool, run_train

tool = load_tool('analysis_tools/analyze_logs.py')


def _write_run(work_dir, stamp, rows):
    vis = work_dir / stamp / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r)
                                                for r in rows) + '\n')
    return vis / 'scalars.json'


def _train(step, loss, time=0.1):
    return dict(lr=0.1, loss=loss, time=time, iter=step, step=step)


@pytest.fixture
def resumed_work_dir(tmp_path):
    """Run 1: iters 1-4 and a val at 4; resumed from iter 2, run 2 logs
    3-6 again (3, 4 replace run 1's) and a val at 6."""
    wd = tmp_path / 'work'
    _write_run(wd, '20260101_000000', [
        _train(1, 4.0),
        _train(2, 3.0),
        _train(3, 2.0),
        _train(4, 1.0), {
            'student/mIoU': 0.5,
            'time': 9.0,
            'step': 4
        }
    ])
    _write_run(wd, '20260102_000000', [
        _train(3, 2.5),
        _train(4, 1.5),
        _train(5, 1.0),
        _train(6, 0.5), {
            'student/mIoU': 0.7,
            'time': 9.0,
            'step': 6
        }
    ])
    return wd


def test_resumed_runs_join_into_one_curve(resumed_work_dir):
    log = tool.load_log(str(resumed_work_dir))
    assert log['train']['loss'] == ([1, 2, 3, 4, 5,
                                     6], [4.0, 3.0, 2.5, 1.5, 1.0, 0.5])
    assert log['val']['student/mIoU'] == ([4, 6], [0.5, 0.7])
    assert tool.get_series(log, 'student/mIoU')[0] == 'val'
    with pytest.raises(KeyError, match='no scalar "mIoU".*student/mIoU'):
        tool.get_series(log, 'mIoU', 'work')


def test_plot_and_compare(resumed_work_dir, tmp_path, capsys):
    single = _write_run(
        tmp_path / 'other', 'x',
        [_train(1, 5.0),
         _train(2, 4.5), {
             'student/mIoU': 0.2,
             'step': 2
         }])
    out = str(tmp_path / 'curves.png')
    assert tool.main([
        'plot_curve',
        str(resumed_work_dir),
        str(single), '--keys', 'loss', 'student/mIoU', '--legend', 'a', 'b',
        '--title', 'cmp', '--out', out
    ]) == out
    img = cv2.imread(out)
    assert img.shape == (600, 700, 3)  # 2 panels of 7 x 3 in at 100 dpi
    assert f'saved {out}' in capsys.readouterr().out
    with pytest.raises(ValueError, match='1 --legend entries for 2 logs'):
        tool.main([
            'plot_curve',
            str(resumed_work_dir),
            str(single), '--legend', 'a', '--out', out
        ])


def test_train_time_hand_computed(tmp_path, capsys):
    log = _write_run(tmp_path, 'r',
                     [_train(1, 1, 0.1),
                      _train(2, 1, 0.3),
                      _train(3, 1, 0.2)])
    (res, ) = tool.main(['cal_train_time', str(log)])
    assert res['mean'] == pytest.approx(0.2)
    assert res['slowest'] == 0.3 and res['slowest_step'] == 2
    assert res['fastest'] == 0.1 and res['num'] == 3
    assert '0.2000 s/iter on average over 3' in capsys.readouterr().out


def test_bad_logs(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        tool.load_log(str(tmp_path / 'nowhere'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no vis_data/scalars.json'):
        tool.load_log(str(tmp_path / 'empty'))
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(_train(1, 1.0)) + '\n{"loss": 1\n')
    with pytest.raises(ValueError, match=f'{bad}:2: not json'):
        tool.load_log(str(bad))
    bad.write_text('{"loss": 1}\n')
    with pytest.raises(ValueError, match=f'{bad}:1: .*"step"'):
        tool.load_log(str(bad))


def test_real_training_log(tmp_path):
    """The json mmengine writes in a real (toy) run."""
    wd = tmp_path / 'w'
    run_train(
        ['--work-dir',
         str(wd), '--cfg-options', 'train_cfg.max_iters=3'], str(tmp_path))
    log = tool.load_log(str(wd))
    steps, losses = log['train']['loss']
    assert steps == [1, 2, 3] and all(v > 0 for v in losses)
    assert {'lr', 'loss_distill', 'loss_task', 'time'} <= set(log['train'])
    out = str(tmp_path / 'loss.png')
    tool.main(['plot_curve', str(wd), '--keys', 'loss', 'lr', '--out', out])
    assert cv2.imread(out).shape == (600, 700, 3)
