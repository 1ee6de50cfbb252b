# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Strict, local-only ImageNet checkpoint loading of TimmBackbone."""
import pytest
import timm
import torch
from safetensors.torch import save_file

from esam3.models.backbones import TimmBackbone
from esam3.models.backbones import timm_backbone as tb_module

MODEL = 'efficientvit_b0'

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def classifier_state():
    """An 'ImageNet' checkpoint: the full timm classifier's state dict."""
    torch.manual_seed(0)
    return timm.create_model(MODEL, pretrained=False).state_dict()


def _assert_loaded(backbone, state):
    # classifier key -> feature-model key: stages.1 -> stages_1, stem.in_conv
    # -> stem_in_conv
    own = backbone.timm_model.state_dict()
    key = 'blocks.0.main.inverted_conv.conv.weight'
    assert torch.equal(own['stages_1.' + key], state['stages.1.' + key])
    assert torch.equal(own['stem_in_conv.conv.weight'],
                       state['stem.in_conv.conv.weight'])
    assert torch.equal(own['stem_in_conv.norm.running_var'],
                       state['stem.in_conv.norm.running_var'])


@pytest.mark.parametrize('nest', [None, 'state_dict', 'model'])
def test_classifier_checkpoint_loads_strictly(tmp_path, classifier_state,
                                              nest):
    path = tmp_path / 'in1k.pth'
    torch.save(
        classifier_state if nest is None else {
            nest: classifier_state,
            'epoch': 3
        }, path)
    backbone = TimmBackbone(MODEL, checkpoint_path=str(path))
    _assert_loaded(backbone, classifier_state)
    backbone.init_weights()  # what the runner calls: must not re-init
    _assert_loaded(backbone, classifier_state)


def test_safetensors_and_own_state_dict(tmp_path, classifier_state):
    path = tmp_path / 'in1k.safetensors'
    save_file({
        k: v.contiguous()
        for k, v in classifier_state.items()
    }, str(path))
    first = TimmBackbone(MODEL, checkpoint_path=str(path))
    _assert_loaded(first, classifier_state)
    # the backbone's own state dict (timm_model.stages_0...) reloads too
    own_path = tmp_path / 'own.pt'
    torch.save(first.state_dict(), own_path)
    second = TimmBackbone(MODEL, checkpoint_path=str(own_path))
    _assert_loaded(second, classifier_state)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(first.eval()(x), second.eval()(x)):
            assert torch.equal(a, b)


def test_missing_and_unexpected_keys_are_named(tmp_path, classifier_state):
    state = dict(classifier_state)
    del state['stages.2.blocks.0.main.depth_conv.conv.weight']
    state['stages.9.extra.weight'] = torch.zeros(3)
    path = tmp_path / 'bad.pth'
    torch.save(state, path)
    with pytest.raises(RuntimeError) as err:
        TimmBackbone(MODEL, checkpoint_path=str(path))
    msg = str(err.value)
    assert str(path) in msg
    assert 'missing keys (1)' in msg
    assert 'stages_2.blocks.0.main.depth_conv.conv.weight' in msg
    assert 'unexpected keys (1)' in msg
    assert 'stages.9.extra.weight' in msg
    assert 'head.' not in msg  # the classifier head is dropped on purpose


def test_shape_mismatch_and_report_truncation(tmp_path, classifier_state):
    state = {
        k: v
        for k, v in classifier_state.items() if not k.startswith('stages.3')
    }
    state['stem.in_conv.conv.weight'] = torch.zeros(1, 1, 1, 1)
    path = tmp_path / 'bad.pth'
    torch.save(state, path)
    with pytest.raises(RuntimeError) as err:
        TimmBackbone(MODEL, checkpoint_path=str(path), max_report_keys=2)
    msg = str(err.value)
    n_missing = sum(k.startswith('stages.3') for k in classifier_state)
    assert f'missing keys ({n_missing})' in msg
    assert f'(+{n_missing - 2} more)' in msg
    assert 'shape mismatches (1)' in msg
    assert 'stem.in_conv.conv.weight: checkpoint (1, 1, 1, 1)' in msg


def test_non_strict_warns_and_loads_the_rest(tmp_path, classifier_state,
                                             monkeypatch):
    state = dict(classifier_state)
    del state['stages.2.blocks.0.main.depth_conv.conv.weight']
    state['extra.weight'] = torch.zeros(3)
    path = tmp_path / 'partial.pth'
    torch.save(state, path)
    logged = []
    monkeypatch.setattr(
        tb_module,
        'print_log',
        lambda msg, logger=None, level=None: logged.append((msg, level)))
    backbone = TimmBackbone(MODEL, checkpoint_path=str(path), strict=False)
    _assert_loaded(backbone, classifier_state)
    warnings = [m for m, level in logged if level == 30]
    assert len(warnings) == 1
    assert 'stages_2.blocks.0.main.depth_conv.conv.weight' in warnings[0]
    assert 'extra.weight' in warnings[0]


def test_missing_file(tmp_path):
    path = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        TimmBackbone(MODEL, checkpoint_path=path)
