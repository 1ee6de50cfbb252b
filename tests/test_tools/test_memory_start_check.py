# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/analysis_tools/memory_start_check.py on the proxy teacher's Stage 2
config: with the teacher's features and SAM3's dense bank the untrained
student tracker IS the teacher (its heads are copies), so its (non-empty)
masks match exactly; the pooling start of the Perceiver already follows
the teacher closely (the claim of configs/_base_/models/
perceiver_memory.py)."""
import os.path as osp

import esam3_toy_helpers

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_dense_memory_on_teacher_features_is_the_teacher(capsys):
    tool = esam3_toy_helpers.load_tool('analysis_tools/memory_start_check.py')
    rows = tool.main([
        osp.join(REPO, 'configs/proxy_teacher/stage2.py'), '--frames', '4',
        '--grids', '8'
    ])
    assert [(r['memory'], r['features'])
            for r in rows] == [('dense', 'teacher'),
                               ('edgetam 8x8', 'teacher'),
                               ('pooled 8x8', 'teacher')]
    assert rows[0]['teacher_mask_px'] > 100  # real masks, not empty ones
    assert rows[0]['iou_to_teacher'] == 1.0
    assert rows[2]['iou_to_teacher'] > 0.8
    assert 'pooled 8x8' in capsys.readouterr().out
