# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from types import SimpleNamespace

import numpy as np
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.structures import InstanceData
from PIL import Image

from esam3.registry import HOOKS


def _sample():
    pred = torch.zeros(2, 2, 6, 8, dtype=torch.bool)
    pred[:, 0, :3, :4] = True
    pred[1, 1, 2:, 2:] = True  # overlaps object 0: drawn on top
    frames = []
    for t in range(2):
        ds = DetDataSample(
            metainfo=dict(frame_id=4 * t, img_path=f'/x/vid/{10 + t:05d}.jpg'))
        ds.gt_instances = InstanceData(instances_ids=torch.tensor([3, 7]))
        frames.append(ds)
    sample = TrackDataSample(metainfo=dict(video_id='vid'))
    sample.video_data_samples = frames
    sample.pred_track_masks = pred
    return sample


def test_palette_pngs_written_on_test(tmp_path):
    hook = HOOKS.build(
        dict(
            type='VOSPaletteWriterHook',
            score_thr=0.3,
            show=False,
            wait_time=0,
            interval=1))
    runner = SimpleNamespace(work_dir=str(tmp_path), timestamp='ts', iter=0)
    hook.after_test_iter(runner, 0, None, [_sample()])
    assert not (tmp_path / 'ts').exists()  # off unless draw (--show-dir)
    hook.draw = True
    hook.after_test_iter(runner, 0, None, [_sample()])
    folder = tmp_path / 'ts' / 'vos_results' / 'vid'
    names = sorted(p.name for p in folder.iterdir())
    assert names == ['00010.png', '00011.png']
    img = Image.open(folder / '00011.png')
    assert img.mode == 'P' and img.size == (8, 6)
    index = np.asarray(img)
    assert index[0, 0] == 3 and index[5, 7] == 7 and index[2, 3] == 7
    assert index[0, 7] == 0
    assert img.getpalette()[3 * 3:3 * 3 + 3] == [128, 128, 0]


def test_val_writing_and_video_frames(tmp_path):
    hook = HOOKS.build(dict(type='VOSPaletteWriterHook', write_val=True))
    sample = _sample()
    for ds in sample.video_data_samples:  # frames decoded from an mp4
        ds.set_metainfo(dict(img_path='/x/vid.mp4'))
    runner = SimpleNamespace(work_dir=str(tmp_path), timestamp='ts', iter=5)
    hook.after_val_iter(runner, 0, None, [sample])
    folder = tmp_path / 'vos_val' / 'iter_5' / 'vid'
    assert sorted(p.name
                  for p in folder.iterdir()) == ['00000.png', '00004.png']
