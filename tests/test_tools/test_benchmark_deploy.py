# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Smoke test of tools/analysis_tools/benchmark_deploy.py on the box, concept
and video paths (tiny Stage 3 student, one repeat): every back-end row, the
fp32 rows equal to the eager student, the JSON record."""
import json
import os.path as osp

import esam3_toy_helpers

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    return esam3_toy_helpers.load_tool('analysis_tools/benchmark_deploy.py')


def test_path_rows(tmp_path, capsys):
    out = tmp_path / 'rows.json'
    code = _tool().main([
        '--paths', 'box', 'concept', 'video', '--frames', '2', '--quant-modes',
        'dynamic', '--repeats', '1', '--warmup', '0', '--threads', '1',
        '--work-dir',
        str(tmp_path / 'onnx'), '--json',
        str(out)
    ])
    assert code == 0
    rows = json.load(open(out))['rows']
    assert [(r['path'], r['backend']) for r in rows] == [
        (p, b) for p in ('box', 'concept')
        for b in ('eager SAM3', 'eager student', 'ORT fp32',
                  'ORT int8 dynamic')
    ] + [('video', b)
         for b in ('eager student', 'ORT fp32', 'ORT int8 dynamic')]
    assert rows[9]['mask_iou'] in (None, 1.0)  # video fp32 vs eager
    # concept masks of the random model may all be empty (IoU None)
    assert rows[6]['iou_ref'] == 'eager student'
    assert rows[6]['mask_iou'] in (None, 1.0)
    by = {r['backend']: r for r in rows[:4]}
    assert by['ORT fp32']['mask_iou'] == 1.0  # same masks as eager
    assert by['ORT fp32']['iou_ref'] == 'eager student'
    assert by['ORT int8 dynamic']['iou_ref'] == 'ORT fp32'
    assert 0.0 <= by['ORT int8 dynamic']['mask_iou'] <= 1.0
    assert all(r['ms'] > 0 for r in rows)
    assert by['eager SAM3']['speedup_vs_sam3'] == 1.0
    assert '| box | ORT fp32 |' in capsys.readouterr().out
