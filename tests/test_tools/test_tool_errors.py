# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Error paths of tools/train.py and tools/test.py, plus print_config (in-
process: the tools' ``main`` is the CLI code)."""
import os.path as osp

import pytest
import torch
from esam3_toy_helpers import TOY_CONFIG, load_tool

from esam3.engine.runner_utils import UnknownTypeError
from esam3.utils.checkpoint import CheckpointMismatchError


def test_unknown_model_type_names_type_and_config(tmp_path):
    train = load_tool('train.py')
    with pytest.raises(KeyError) as info:
        train.main([
            TOY_CONFIG, '--work-dir',
            str(tmp_path), '--cfg-options', 'model.type=NoSuchToyModel'
        ])
    assert isinstance(info.value, UnknownTypeError)
    msg = str(info.value)
    assert info.value.type_name == 'NoSuchToyModel'
    assert 'NoSuchToyModel' in msg and TOY_CONFIG in msg
    assert 'registry' in msg


def test_unknown_type_built_lazily_at_train_time(tmp_path):
    """Datasets are built inside runner.train(): still a clear error."""
    train = load_tool('train.py')
    with pytest.raises(UnknownTypeError) as info:
        train.main([
            TOY_CONFIG, '--work-dir',
            str(tmp_path), '--cfg-options',
            'train_dataloader.dataset.type=NoSuchToyDataset'
        ])
    assert 'NoSuchToyDataset' in str(info.value)
    assert TOY_CONFIG in str(info.value)


def test_missing_data_root_is_file_not_found(tmp_path):
    train = load_tool('train.py')
    missing = str(tmp_path / 'no' / 'such' / 'sa1b')
    with pytest.raises(FileNotFoundError) as info:
        train.main([
            TOY_CONFIG, '--work-dir',
            str(tmp_path), '--cfg-options',
            f'train_dataloader.dataset.data_root={missing}'
        ])
    assert missing in str(info.value)
    assert 'train_dataloader.dataset.data_root' in str(info.value)


def test_resume_from_missing_file(tmp_path):
    train = load_tool('train.py')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        train.main([
            TOY_CONFIG, '--work-dir',
            str(tmp_path), '--resume',
            str(tmp_path / 'nope.pth')
        ])


def test_test_tool_rejects_mismatched_checkpoint(tmp_path):
    """tools/test.py loads strictly: an extra key and a missing key fail with
    both listed, before any evaluation."""
    bad = tmp_path / 'bad.pth'
    torch.save(
        dict(state_dict={
            'student.weight': torch.zeros(2, 4),
            'student.extra': torch.zeros(1)
        }), str(bad))
    test = load_tool('test.py')
    with pytest.raises(CheckpointMismatchError) as info:
        test.main([TOY_CONFIG, str(bad), '--work-dir', str(tmp_path / 'w')])
    msg = str(info.value)
    assert str(bad) in msg
    assert 'student.bias' in msg and 'student.extra' in msg
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        test.main([TOY_CONFIG, str(tmp_path / 'missing.pth')])


def test_print_config_merges_options(tmp_path, capsys):
    tool = load_tool('misc/print_config.py')
    save = str(tmp_path / 'merged.py')
    text = tool.main([
        TOY_CONFIG, '--cfg-options', 'train_cfg.max_iters=3', '--save-path',
        save
    ])
    out = capsys.readouterr().out
    assert 'max_iters=3' in text and 'max_iters=3' in out
    assert "default_scope = 'esam3'" in out
    assert "type='Sam3Visualizer'" in out
    assert osp.isfile(save)
