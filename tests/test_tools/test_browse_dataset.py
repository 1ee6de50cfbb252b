# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/analysis_tools/browse_dataset.py on the bundled data, for every esam3
dataset type, and the drawing it relies on."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from esam3_toy_helpers import REPO_ROOT, load_tool
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from esam3.datasets.utils import mask_interior_point
from esam3.visualization.sample_drawing import (_rgb, caption_of,
                                                draw_image_sample,
                                                draw_packed_sample)

S = 224
SHORT = ['--cfg-options']  # full-video val splits: 2 frames are enough


def cfg(path):
    return osp.join(REPO_ROOT, 'configs', path)


@pytest.mark.parametrize('config,split,options,dataset,shape', [
    ('stage1/tiny.py', 'train', [], 'SA1BDataset', (S, S)),
    ('stage1/tiny.py', 'val', [], 'CocoPromptDataset', (S, S)),
    ('stage2/tiny.py', 'train', [], 'SAVDataset', (S, 4 * S)),
    ('stage2/tiny.py', 'val', SHORT + [
        'val_dataloader.dataset.clip_mode=first',
        'val_dataloader.dataset.num_frames=2'
    ], 'DAVISDataset', (S, 2 * S)),
    ('stage3/tiny.py', 'train', [], 'ConcatDataset', (S, S)),
    ('stage3/tiny.py', 'val', [], 'SACoDataset', (S, S)),
    ('stage3/tiny_coco.py', 'val', [], 'CocoConceptDataset', (S, S)),
    ('stage3/tiny_video.py', 'val', SHORT + [
        'val_dataloader.dataset.clip_mode=first',
        'val_dataloader.dataset.num_frames=2'
    ], 'SACoVideoDataset', (S, 2 * S)),
])
def test_every_dataset_type(tmp_path, capsys, config, split, options, dataset,
                            shape):
    tool = load_tool('analysis_tools/browse_dataset.py')
    out = str(tmp_path / 'browse')
    files = tool.main([
        cfg(config), '--split', split, '--output-dir', out, '--max-samples',
        '2'
    ] + options)
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    drawn, _, total = printed.split()[:3]
    assert f'{split} samples of {dataset} drawn to {out}' in printed
    assert int(drawn) == len(files) == min(2, int(total)) >= 1
    for path in files:
        assert osp.dirname(path) == out
        assert osp.basename(path).startswith(f'{split}_000')
        img = cv2.imread(path)
        assert img is not None and img.shape == shape + (3, )
        assert img.std() > 10  # a picture, not a blank canvas


def _sample(masks, boxes, text='cat', exemplars=None, negative=False):
    img = np.full((3, 64, 80), 90, np.uint8)
    ds = DetDataSample(
        metainfo=dict(
            img_id=7,
            text=text,
            is_negative=negative,
            exemplar_boxes=exemplars))
    ds.gt_instances = InstanceData(
        masks=torch.as_tensor(masks),
        bboxes=torch.as_tensor(boxes),
        labels=torch.zeros(len(masks), dtype=torch.long))
    return dict(inputs=torch.from_numpy(img), data_samples=ds)


def test_masks_boxes_points_exemplars_are_drawn():
    mask = np.zeros((1, 64, 80), bool)
    mask[0, 30:50, 40:70] = True
    sample = _sample(
        mask, [[40., 30., 70., 50.]],
        exemplars=np.array([[5., 40., 25., 60.]], np.float32))
    raw = _rgb(sample['inputs'])
    assert (raw == 90).all()
    drawn = draw_packed_sample(sample)
    assert drawn.shape == raw.shape
    changed = (drawn != raw).any(-1)
    assert changed[35:45, 45:65].mean() > 0.9  # mask overlay
    assert changed[40, 5] and changed[59, 15]  # exemplar box edges
    assert not changed[58:62, 72:78].any()  # background left alone
    star = draw_image_sample(sample['inputs'], sample['data_samples'])
    # the mask-centre point (the first pixel farthest from the border,
    # x 49, y 39) is drawn as a green star over the (red) mask colour
    assert mask_interior_point(mask[0]) == [49.0, 39.0]
    y, x = 39, 49
    assert star[y, x, 1] > 240 and star[y, x, 0] < 20 and star[y, x, 2] < 20


def test_caption_names_id_phrase_and_negatives():
    assert caption_of(dict(img_id=3, text='a cup')) == '3 | "a cup"'
    assert caption_of(dict(img_id=3, text='cup', is_negative=True),
                      '0 instance(s)') == '3 | "cup" | negative | 0 ' \
        'instance(s)'
    assert caption_of(dict(img_id=3, text='cup', is_negative=True,
                           hard_negative=True)) == \
        '3 | "cup" | hard negative'
    assert caption_of(dict(video_id='v', frame_id=8, img_id=1)) == 'v #8'


def test_bad_input(tmp_path):
    tool = load_tool('analysis_tools/browse_dataset.py')
    with pytest.raises(KeyError, match='test_dataloader'):
        tool.main([
            cfg('stage1/tiny.py'), '--split', 'test', '--output-dir',
            str(tmp_path), '--cfg-options', 'test_dataloader=None'
        ])
    with pytest.raises(ValueError, match='max-samples'):
        tool.main([
            cfg('stage1/tiny.py'), '--output-dir',
            str(tmp_path), '--max-samples', '0'
        ])
    with pytest.raises(KeyError, match='inputs'):
        draw_packed_sample(dict(img=np.zeros((4, 4, 3))))
