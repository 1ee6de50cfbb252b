# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""configs/stage2/tiny.py through mmengine's Runner: train, validate (J&F on
the bundled DAVIS-format video), palette PNGs, checkpoint = student."""
import glob
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_tiny_config_trains_and_validates(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the dataset roots are relative to the repo
    cfg = Config.fromfile(osp.join(REPO, 'configs/stage2/tiny.py'))
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.visualization.write_val = True
    # every 6th frame of the 48-frame bundled video keeps the test fast
    cfg.val_dataloader.dataset.frame_interval = 6
    runner = Runner.from_cfg(cfg)
    runner.train()

    scalars = runner.message_hub.log_scalars
    key = next(k for k in scalars if k.endswith('J&F'))
    assert 0.0 <= scalars[key].current() <= 100.0

    pngs = sorted(
        glob.glob(osp.join(str(tmp_path), 'vos_val', 'iter_2', '*', '*.png')))
    assert len(pngs) == 8
    first = Image.open(pngs[0])
    assert first.mode == 'P' and first.size == (176, 144)
    assert set(np.unique(np.asarray(first))) <= {0, 1, 2, 3}

    ckpt = torch.load(
        osp.join(str(tmp_path), 'iter_2.pth'),
        map_location='cpu',
        weights_only=False)
    keys = list(ckpt['state_dict'])
    assert keys and all(k.startswith('student.') for k in keys)
    assert os.path.isfile(osp.join(str(tmp_path), 'last_checkpoint'))
