# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""model-index.yml and the per-stage metafiles list every runnable config, with
metadata that matches the config and no invented results."""
import glob
import os.path as osp

import pytest
import yaml
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# every config folder but _base_: the three stages, then the other recipes
STAGES = ['stage1', 'stage2', 'stage3'] + sorted(
    osp.basename(osp.dirname(p))
    for p in glob.glob(osp.join(REPO, 'configs', '*', 'metafile.yml'))
    if osp.basename(osp.dirname(p)) not in ('stage1', 'stage2', 'stage3'))


def _load(rel_path):
    with open(osp.join(REPO, rel_path), encoding='utf-8') as f:
        return yaml.safe_load(f)


def test_model_index_imports_one_metafile_per_stage():
    folders = {
        osp.basename(p)
        for p in glob.glob(osp.join(REPO, 'configs', '*'))
        if osp.isdir(p) and osp.basename(p) not in ('_base_', '__pycache__')
    }
    assert folders == set(STAGES), folders - set(STAGES)
    index = _load('model-index.yml')
    assert index['Import'] == [
        f'configs/{stage}/metafile.yml' for stage in STAGES
    ]


@pytest.mark.parametrize('stage', STAGES)
def test_metafile_lists_every_runnable_config(stage):
    meta = _load(f'configs/{stage}/metafile.yml')
    listed = [m['Config'] for m in meta['Models']]
    on_disk = sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'configs', stage, '*.py'))
        if not p.endswith('_base.py'))
    assert sorted(listed) == on_disk
    assert len(set(listed)) == len(listed)
    collections = {c['Name'] for c in meta['Collections']}
    names = [m['Name'] for m in meta['Models']]
    assert len(set(names)) == len(names)
    for model in meta['Models']:
        assert model['In Collection'] in collections
        assert model['Results'] == [], f'{model["Name"]}: results invented?'
        assert 'Weights' not in model, f'{model["Name"]}: weights invented?'


@pytest.mark.parametrize('stage', STAGES)
def test_metafile_metadata_matches_the_configs(stage):
    for model in _load(f'configs/{stage}/metafile.yml')['Models']:
        cfg = Config.fromfile(
            osp.join(REPO, model['Config']), format_python_code=False)
        meta = model['Metadata']
        student = cfg.model.student
        # a student with a timm trunk is named by its backbone, another one
        # (the text student) by its type
        backbone = (
            student.trunk.backbone.model_name
            if 'trunk' in student else student.type)
        assert meta['Architecture'][0] == backbone, model['Name']
        teacher = cfg.model.get('teacher')
        if teacher is None:  # fine-tuning on ground truth: no teacher
            assert len(meta['Architecture']) == 1, model['Name']
        else:
            assert meta['Architecture'][1].split()[0] == teacher.type
        assert meta['Iterations'] == cfg.train_cfg.max_iters, model['Name']
        batch = cfg.train_dataloader.batch_size
        assert meta['Batch Size'] == (batch if isinstance(batch, int) else
                                      list(batch)), model['Name']
