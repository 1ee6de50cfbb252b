# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/model_converters/publish_model.py on real mmengine checkpoints."""
import hashlib
import os.path as osp
import re

import pytest
import torch
from esam3_toy_helpers import TOY_CONFIG, load_tool

from esam3.utils.checkpoint import load_student_checkpoint


@pytest.fixture(scope='module')
def ema_ckpt(tmp_path_factory):
    """3 toy iterations with mmengine's EMAHook (momentum 0.5)."""
    root = tmp_path_factory.mktemp('publish')
    cfg = root / 'toy_ema.py'
    cfg.write_text(
        f'_base_ = [{TOY_CONFIG!r}]\n'
        "custom_hooks = [dict(type='EMAHook', momentum=0.5, priority=49)]\n")
    load_tool('train.py').main([
        str(cfg), '--work-dir',
        str(root / 'wd'), '--cfg-options', 'train_cfg.max_iters=3',
        'default_hooks.checkpoint.interval=3',
        f'experiment_name=publish_{id(cfg)}'
    ])
    return str(root / 'wd' / 'iter_3.pth')


def _toy_model():
    from esam3_toy_modules import ToyDistiller
    return ToyDistiller()


def _check_name(path, stem):
    match = re.fullmatch(
        re.escape(stem) + r'-([0-9a-f]{8})\.pth', osp.basename(path))
    assert match, path
    digest = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    assert digest.startswith(match.group(1))


def test_publish_strips_training_state(ema_ckpt, tmp_path):
    raw = torch.load(ema_ckpt, weights_only=False)
    assert {'optimizer', 'message_hub', 'param_schedulers'} <= set(raw)
    publish = load_tool('model_converters/publish_model.py')
    out = publish.main([ema_ckpt, str(tmp_path / 'toy.pth')])
    _check_name(out, 'toy')
    # only tensors and plain values: loadable weights-only, no allowlist
    assert torch.serialization.get_unsafe_globals_in_checkpoint(out) == []
    pub = torch.load(out, weights_only=True)
    assert set(pub) == {'state_dict', 'meta'}
    assert set(pub['meta']) == {'esam3_version', 'ema', 'config'}
    assert 'ToyDistiller' in pub['meta']['config']
    assert set(pub['state_dict']) == {'student.weight', 'student.bias'}
    # default = raw weights (mmengine keeps them in ema_state_dict)
    for k, v in pub['state_dict'].items():
        assert torch.equal(v, raw['ema_state_dict']['module.' + k])
    model = _toy_model()
    load_student_checkpoint(model, out, strict=True)
    assert torch.equal(model.student.weight,
                       raw['ema_state_dict']['module.student.weight'])


def test_publish_ema_weights(ema_ckpt, tmp_path):
    raw = torch.load(ema_ckpt, weights_only=False)
    publish = load_tool('model_converters/publish_model.py')
    out = publish.main([ema_ckpt, str(tmp_path / 'toy_ema.pth'), '--ema'])
    _check_name(out, 'toy_ema')
    pub = torch.load(out, weights_only=True)
    assert pub['meta']['ema'] is True
    # mmengine's EMAHook stores the averaged weights as state_dict
    for k, v in pub['state_dict'].items():
        assert torch.equal(v, raw['state_dict'][k])
    raw_w = raw['ema_state_dict']['module.student.weight']
    assert not torch.allclose(pub['state_dict']['student.weight'], raw_w)
    load_student_checkpoint(_toy_model(), out, strict=True)


def test_publish_drops_teacher_and_handles_other_ema_layouts(tmp_path):
    w, b = torch.randn(2, 4), torch.randn(2)
    ckpt = dict(
        state_dict={
            'student.weight': w,
            'student.bias': b,
            'teacher.weight': torch.randn(2, 4),
            'ema_student_weight': w + 1,
            'ema_student_bias': b + 1,
        },
        optimizer=dict(state={}),
        meta=dict(cfg='model = 1'))
    src = str(tmp_path / 'legacy.pth')
    torch.save(ckpt, src)
    publish = load_tool('model_converters/publish_model.py')
    pub = torch.load(publish.main([src, str(tmp_path / 'a.pth')]))
    assert set(pub['state_dict']) == {'student.weight', 'student.bias'}
    assert torch.equal(pub['state_dict']['student.weight'], w)
    pub = torch.load(publish.main([src, str(tmp_path / 'b.pth'), '--ema']))
    assert torch.equal(pub['state_dict']['student.weight'], w + 1)
    # no EMA at all: --ema is an error
    torch.save(dict(state_dict={'student.weight': w}), src)
    with pytest.raises(KeyError, match='no EMA'):
        publish.main([src, str(tmp_path / 'c.pth'), '--ema'])
