# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/misc/quick_start_summary.py: rows from tools/test.py metric files,
summary.json, the printed table and clear errors."""
import json
import os
import os.path as osp

import esam3_toy_helpers
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    return esam3_toy_helpers.load_tool('misc/quick_start_summary.py')


def write_metrics(work, folder, stamp, metrics):
    d = osp.join(work, folder, stamp)
    os.makedirs(d)
    with open(osp.join(d, f'{stamp}.json'), 'w') as f:
        json.dump(metrics, f)


@pytest.fixture
def work(tmp_path):
    w = str(tmp_path)
    write_metrics(w, 'stage1_teacher', '20260101_000000',
                  {'teacher/mIoU/box': 60.0})
    write_metrics(w, 'stage1_test', '20260101_000000',
                  {'student/mIoU/box': 10.0})
    # the newest run wins
    write_metrics(w, 'stage1_test', '20260102_000000',
                  {'student/mIoU/box': 54.0})
    write_metrics(w, 'stage1_heldout', '20260101_000000', {
        'teacher/mIoU/box': 40.0,
        'student/mIoU/box': 30.0
    })
    write_metrics(w, 'stage2_teacher', '20260101_000000', {'J&F': 70.0})
    write_metrics(w, 'stage2_test', '20260101_000000', {'J&F': 63.0})
    write_metrics(w, 'stage3_teacher', '20260101_000000', {'cgF1': 0.0})
    write_metrics(w, 'stage3_test', '20260101_000000', {'cgF1': 5.0})
    return w


def test_rows_summary_json_and_table(work):
    tool = load_tool()
    rows = tool.collect(work)
    assert [(r['stage'], r['teacher'], r['student'])
            for r in rows] == [('stage1', 60.0, 54.0), ('stage1', 40.0, 30.0),
                               ('stage2', 70.0, 63.0), ('stage3', 0.0, 5.0)]
    assert 'not fitted to' in rows[1]['metric']
    path = osp.join(work, 'summary.json')
    tool.write_summary(rows, path)
    with open(path) as f:
        back = json.load(f)
    assert back == rows
    assert set(back[0]) == {'stage', 'metric', 'teacher', 'student'}
    table = tool.format_table(rows).splitlines()
    assert table[0].split()[:2] == ['stage', 'metric']
    assert table[2].split()[-1] == '0.90'  # 54 / 60
    assert table[3].split()[-1] == '0.75'  # 30 / 40, held out
    assert table[4].split()[-1] == '0.90'  # 63 / 70
    assert table[5].split()[-1] == '-'  # teacher 0: no ratio


def test_missing_metric_and_folder_are_named(work, tmp_path):
    tool = load_tool()
    write_metrics(work, 'stage2_test', '20260109_000000', {'J': 1.0})
    with pytest.raises(KeyError, match=r"stage2_test.*'J&F'"):
        tool.collect(work)
    with pytest.raises(FileNotFoundError, match='stage1_teacher'):
        tool.collect(str(tmp_path / 'empty'))
