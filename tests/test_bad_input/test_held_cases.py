# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Bad inputs that were already handled when probed (issue 16) and had no test
of their own, so that they keep holding.

The other held cases are tested where their code is: unknown types, data
roots and resume paths in ``tests/test_tools/test_tool_errors.py``;
checkpoint key mismatches in ``tests/test_utils/test_checkpoint_utils.py``;
corrupt cache indices and checksums in
``tests/test_datasets/test_feature_cache.py``; dataset files in
``tests/test_datasets/``; predictor inputs in ``tests/test_apis/``.
"""
import json
import shutil

import numpy as np
import pytest
from esam3_toy_helpers import load_tool
from mmengine.registry import init_default_scope

from esam3.apis.image_inputs import load_image
from esam3.engine.runner_utils import load_config
from esam3.registry import DATASETS


def test_missing_config_is_named(tmp_path):
    missing = str(tmp_path / 'no_such_config.py')
    with pytest.raises(FileNotFoundError, match='no_such_config.py'):
        load_config(missing)
    ckpt = tmp_path / 'ckpt.pth'
    ckpt.write_bytes(b'x')  # the config is checked first
    for tool, extra in (('train.py', []), ('test.py', [str(ckpt)])):
        with pytest.raises(FileNotFoundError, match='no_such_config.py'):
            load_tool(tool).main([missing] + extra)


def test_non_image_file_is_named(tmp_path):
    fake = tmp_path / 'fake.jpg'
    fake.write_text('not a picture')
    with pytest.raises(ValueError, match=f'cannot decode image file: {fake}'):
        load_image(str(fake))
    with pytest.raises(TypeError, match='path or numpy array'):
        load_image(123)
    with pytest.raises(ValueError, match='empty image'):
        load_image(np.zeros((0, 4, 3), np.uint8))


def test_saco_empty_phrase_names_the_image(tmp_path, repo_root):
    root = tmp_path / 'saco'
    shutil.copytree(f'{repo_root}/data/samples/saco', root)
    data = json.loads((root / 'annotations.json').read_text())
    data['images'][2]['text_input'] = '   '
    (root / 'annotations.json').write_text(json.dumps(data))
    init_default_scope('esam3')
    with pytest.raises(
            ValueError,
            match=f'id={data["images"][2]["id"]}: '
            'text_input must be a non-empty string'):
        DATASETS.build(
            dict(
                type='SACoDataset',
                data_root=str(root),
                ann_file='annotations.json',
                pipeline=[]))
