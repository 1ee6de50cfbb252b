# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/misc/eval_teacher.py: each stage config is turned into a teacher
evaluation of the given SAM3 folder."""
import os.path as osp

import esam3_toy_helpers
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    return esam3_toy_helpers.load_tool('misc/eval_teacher.py')


@pytest.mark.parametrize('stage', ['stage1', 'stage2', 'stage3'])
def test_teacher_cfg_points_every_teacher_at_the_folder(stage, tmp_path):
    tool = load_tool()
    cfg = tool.teacher_cfg(
        osp.join(REPO, 'configs', 'proxy_teacher', f'{stage}.py'), '/x/sam3',
        str(tmp_path))
    assert cfg.model.teacher.pretrained == '/x/sam3'
    assert 'config' not in cfg.model.teacher
    assert cfg.work_dir == str(tmp_path) and cfg.load_from is None
    if stage == 'stage1':  # Stage 1 scores the teacher's masks itself
        assert 'predict_with' not in cfg.model
        assert cfg.model.video_teacher.pretrained == '/x/sam3'
        keys = [e.get('pred_key') for e in cfg.test_evaluator]
        assert 'teacher_prompt_masks' in keys
    else:
        assert cfg.model.predict_with == 'teacher'
