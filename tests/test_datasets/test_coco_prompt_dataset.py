# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""CocoPromptDataset: COCO json -> esam3 packed samples for prompt mIoU."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from esam3.datasets import CocoPromptDataset
from esam3.datasets.utils import decode_rles, encode_mask
from esam3.registry import DATASETS


@pytest.fixture(scope='module')
def cfg(repo_root):
    return Config.fromfile(
        osp.join(repo_root, 'configs', '_base_', 'datasets', 'sa1b_tiny.py'))


@pytest.fixture(scope='module')
def coco_root(repo_root):
    return osp.join(repo_root, 'data', 'samples', 'coco')


def test_bundled_coco_packs_instances_with_names(cfg):
    ds = DATASETS.build(cfg.val_dataloader.dataset)
    assert isinstance(ds, CocoPromptDataset) and len(ds) == 3
    classes = ds.metainfo['classes']
    with open(ds.ann_file) as f:
        cats = sorted(json.load(f)['categories'], key=lambda c: c['id'])
    assert classes == tuple(c['name'] for c in cats)
    counts = {}
    for idx in range(len(ds)):
        out = ds[idx]
        sample = out['data_samples']
        assert out['inputs'].shape == (3, 224, 224)
        assert out['inputs'].dtype == torch.uint8
        labels = sample.gt_instances.labels.tolist()
        n = len(labels)
        assert sample.gt_instances.masks.masks.shape == (n, 224, 224)
        assert sample.gt_names == [classes[i] for i in labels]
        gt = decode_rles(sample.gt_rles, *sample.ori_shape)
        assert gt.shape[0] == n and (gt.reshape(n, -1).sum(1) > 0).all()
        assert sample.pad_shape == (224, 224)
        counts[osp.basename(sample.img_path)] = n
        if 'coins' in sample.img_path:  # polygons in the json
            assert set(sample.gt_names) == {'coin'}
    assert counts == {'voc.jpg': 19, 'arc2017.jpg': 8, 'coins.jpg': 24}


def _mini_json(path, crowd=True, lvis=False):
    h, w = 20, 30
    mask = np.zeros((h, w), np.uint8)
    mask[2:10, 3:12] = 1
    image = dict(id=7, width=w, height=h)
    if lvis:
        image['coco_url'] = 'http://images.cocodataset.org/val2017/x.jpg'
    else:
        image['file_name'] = 'x.jpg'
    anns = [
        dict(
            id=1,
            image_id=7,
            category_id=3,
            bbox=[3, 2, 9, 8],
            area=72,
            iscrowd=0,
            segmentation=encode_mask(mask)),
        dict(
            id=2,
            image_id=7,
            category_id=5,
            bbox=[15, 5, 10, 10],
            area=100,
            iscrowd=0,
            segmentation=[[15, 5, 25, 5, 25, 15, 15, 15]])
    ]
    if crowd:
        anns.append(
            dict(
                id=3,
                image_id=7,
                category_id=3,
                bbox=[0, 12, 30, 8],
                area=240,
                iscrowd=1,
                segmentation=encode_mask(np.ones((h, w), np.uint8))))
    data = dict(
        images=[image],
        annotations=anns,
        categories=[dict(id=3, name='cup'),
                    dict(id=5, name='box')])
    with open(path, 'w') as f:
        json.dump(data, f)


def test_crowd_dropped_and_counted(tmp_path):
    _mini_json(tmp_path / 'ann.json')
    ds = CocoPromptDataset(
        ann_file=str(tmp_path / 'ann.json'),
        data_prefix=dict(img=str(tmp_path)),
        test_mode=True)
    assert ds.metainfo['classes'] == ('cup', 'box')
    assert ds.skip_counts == dict(crowd_instance=1)
    insts = ds.get_data_info(0)['instances']
    assert [i['name'] for i in insts] == ['cup', 'box']
    assert [i['bbox_label'] for i in insts] == [0, 1]
    assert insts[0]['bbox'] == [3, 2, 12, 10]


def test_user_classes_and_lvis_file_names(tmp_path):
    _mini_json(tmp_path / 'lvis.json', crowd=False, lvis=True)
    ds = CocoPromptDataset(
        ann_file=str(tmp_path / 'lvis.json'),
        data_prefix=dict(img='/data/coco/'),
        metainfo=dict(classes=('box', )),
        test_mode=True)
    info = ds.get_data_info(0)
    assert info['img_path'] == '/data/coco/val2017/x.jpg'
    assert [i['name'] for i in info['instances']] == ['box']
