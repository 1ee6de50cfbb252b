# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SA1BDataset on the bundled samples, its pipelines and its bad-data paths."""
import json
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config

import esam3.datasets.utils as dutils
from esam3.datasets import SA1BAnnotationError, SA1BDataset
from esam3.datasets.utils import decode_rles, encode_mask
from esam3.registry import DATASETS


@pytest.fixture(scope='module')
def cfg(repo_root):
    return Config.fromfile(
        osp.join(repo_root, 'configs', '_base_', 'datasets', 'sa1b_tiny.py'))


@pytest.fixture(scope='module')
def sa1b_root(repo_root):
    return osp.join(repo_root, 'data', 'samples', 'sa1b')


def _copy(sa1b_root, dst, stems):
    for stem in stems:
        for ext in ('.jpg', '.json'):
            shutil.copy(osp.join(sa1b_root, stem + ext), dst / (stem + ext))


def _edit_json(path, fn):
    with open(path) as f:
        data = json.load(f)
    fn(data)
    with open(path, 'w') as f:
        json.dump(data, f)


def test_loads_bundled_splits(cfg, sa1b_root):
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert isinstance(ds, SA1BDataset) and len(ds) == 6
    assert ds.metainfo['classes'] == ('object', )
    assert ds.skip_counts == {}
    val = SA1BDataset(data_root=sa1b_root, ann_file='val.txt')
    assert sorted(osp.basename(val[i]['img_path'])
                  for i in range(len(val))) == ['coins.jpg', 'voc.jpg']
    assert len(SA1BDataset(data_root=sa1b_root)) == 8
    info = val.get_data_info(0)
    inst = info['instances'][0]
    assert isinstance(info['img_id'], int)
    assert inst['bbox'][2] > inst['bbox'][0] and inst['bbox_label'] == 0
    assert len(info['instances']) == 16  # coins has 24, max_instances=16


def test_train_pipeline_outputs(cfg):
    np.random.seed(0)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    for idx in range(len(ds)):
        out = ds[idx]
        inputs, sample = out['inputs'], out['data_samples']
        assert inputs.shape == (3, 224, 224) and inputs.dtype == torch.uint8
        assert isinstance(sample, DetDataSample)
        masks = sample.gt_instances.masks
        assert isinstance(masks, BitmapMasks)
        n = len(masks)
        assert 1 <= n <= 16 and masks.masks.shape == (n, 224, 224)
        assert (masks.areas > 0).all()
        boxes = sample.gt_instances.bboxes.tensor
        assert torch.allclose(boxes, masks.get_bboxes('hbox').tensor, atol=1.0)
        assert sample.gt_instances.labels.tolist() == [0] * n
        assert len(sample.gt_rles) == n
        assert sample.gt_point_coords.shape == (n, 2)
        h, w = sample.img_shape
        assert h <= 224 and w <= 224 and sample.pad_shape == (224, 224)
        # padding is bottom/right and empty
        assert not masks.masks[:, h:, :].any()
        assert not masks.masks[:, :, w:].any()
        assert (inputs[:, h:, :] == 0).all() and (inputs[:, :, w:] == 0).all()
        ori_h, ori_w = sample.ori_shape
        for rle in sample.gt_rles:
            assert rle['size'] == [ori_h, ori_w]


def test_test_pipeline_keeps_rles_at_original_size(cfg, sa1b_root):
    ds = SA1BDataset(
        data_root=sa1b_root,
        ann_file='val.txt',
        test_mode=True,
        pipeline=cfg.test_pipeline)
    for idx in range(len(ds)):
        sample = ds[idx]['data_samples']
        ori_h, ori_w = sample.ori_shape
        # SAM3's square resize: per-axis scale, no padding
        assert sample.img_shape == sample.pad_shape == (224, 224)
        assert np.allclose(sample.scale_factor, (224 / ori_w, 224 / ori_h))
        gt = decode_rles(sample.gt_rles, ori_h, ori_w)
        masks = sample.gt_instances.masks.masks
        assert gt.shape[0] == masks.shape[0] == len(sample.gt_point_coords)
        h, w = sample.img_shape
        for g, m in zip(gt, masks):
            small = cv2.resize(g, (w, h), interpolation=cv2.INTER_NEAREST)
            inter = np.logical_and(small, m[:h, :w]).sum()
            union = np.logical_or(small, m[:h, :w]).sum()
            assert inter / union > 0.7  # same instance, same order
        for (x, y), g in zip(sample.gt_point_coords, gt):
            assert g[int(y), int(x)] == 1


def test_max_instances_sampling(sa1b_root):
    test_ds = SA1BDataset(data_root=sa1b_root, max_instances=4, test_mode=True)
    a = [i['ann_id'] for i in test_ds.get_data_info(0)['instances']]
    b = [i['ann_id'] for i in test_ds.get_data_info(0)['instances']]
    assert a == b and len(a) == 4
    train_ds = SA1BDataset(data_root=sa1b_root, max_instances=4)
    draws = set()
    for seed in range(5):
        np.random.seed(seed)
        ids = [i['ann_id'] for i in train_ds.get_data_info(0)['instances']]
        assert len(ids) == 4 and ids == sorted(ids)
        draws.add(tuple(ids))
    assert len(draws) > 1
    full = SA1BDataset(data_root=sa1b_root, max_instances=None)
    counts = [
        len(full.get_data_info(i)['instances']) for i in range(len(full))
    ]
    assert max(counts) == 32 and min(counts) == 8


def test_invalid_data_is_skipped_and_counted(sa1b_root, tmp_path, monkeypatch):
    stems = ['chelsea', 'coffee', 'rocket', 'coins', 'voc', 'camera']
    _copy(sa1b_root, tmp_path, stems)
    (tmp_path / 'chelsea.json').unlink()  # missing json

    def wrong_size(data):
        data['annotations'][0]['segmentation'] = encode_mask(
            np.ones((10, 12), np.uint8))

    def zero_box(data):
        data['annotations'][1]['bbox'][2] = 0

    def no_instances(data):
        data['annotations'] = []

    _edit_json(tmp_path / 'coffee.json', wrong_size)
    _edit_json(tmp_path / 'coffee.json', zero_box)
    _edit_json(tmp_path / 'rocket.json', no_instances)
    (tmp_path / 'coins.jpg').write_bytes(b'not a jpeg')
    logs = []
    monkeypatch.setattr(dutils, 'print_log',
                        lambda msg, **kw: logs.append(msg))
    ds = SA1BDataset(data_root=str(tmp_path))
    assert ds.skip_counts == dict(
        missing_json=1,
        rle_size_mismatch=1,
        zero_area_box=1,
        no_instances=1,
        unreadable_image=1)
    assert sorted(osp.basename(ds[i]['img_path']) for i in range(len(ds))) == [
        'camera.jpg', 'coffee.jpg', 'voc.jpg'
    ]
    n_coffee = len(
        json.load(open(osp.join(sa1b_root, 'coffee.json')))['annotations'])
    coffee = [
        ds.get_data_info(i) for i in range(len(ds))
        if ds.get_data_info(i)['img_path'].endswith('coffee.jpg')
    ][0]
    assert len(coffee['instances']) == min(16, n_coffee - 2)
    assert len(logs) == 1
    for key in ('missing_json=1', 'rle_size_mismatch=1', 'zero_area_box=1',
                'no_instances=1', 'unreadable_image=1'):
        assert key in logs[0]


def test_all_invalid_raises_naming_root(sa1b_root, tmp_path):
    _copy(sa1b_root, tmp_path, ['chelsea'])
    (tmp_path / 'chelsea.json').unlink()
    with pytest.raises(ValueError, match=str(tmp_path)):
        SA1BDataset(data_root=str(tmp_path))


def test_missing_root_raises(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        SA1BDataset(data_root=missing)


def test_malformed_json_names_file_and_field(sa1b_root, tmp_path):
    _copy(sa1b_root, tmp_path, ['chelsea', 'voc'])
    (tmp_path / 'voc.json').write_text('{"image": ')
    with pytest.raises(SA1BAnnotationError, match=r'voc\.json.*invalid JSON'):
        SA1BDataset(data_root=str(tmp_path))
    _copy(sa1b_root, tmp_path, ['voc'])
    _edit_json(tmp_path / 'voc.json',
               lambda d: d['annotations'][2].pop('bbox'))
    with pytest.raises(
            SA1BAnnotationError, match=r'voc\.json.*annotations\[2\]\.bbox'):
        SA1BDataset(data_root=str(tmp_path))
    _copy(sa1b_root, tmp_path, ['voc'])
    _edit_json(tmp_path / 'voc.json',
               lambda d: d['image'].update(height='375'))
    with pytest.raises(SA1BAnnotationError, match=r'image\.height'):
        SA1BDataset(data_root=str(tmp_path))


def test_lazy_parse_refetches_images_without_instances(cfg, sa1b_root,
                                                       tmp_path):
    _copy(sa1b_root, tmp_path, ['chelsea', 'rocket'])
    _edit_json(tmp_path / 'rocket.json', lambda d: d.update(annotations=[]))
    ds = SA1BDataset(
        data_root=str(tmp_path), lazy_parse=True, pipeline=cfg.test_pipeline)
    assert len(ds) == 2  # only pairing is checked up front
    idx = [osp.basename(ds.get_data_info(i)['img_path'])
           for i in range(2)].index('rocket.jpg')
    assert ds.prepare_data(idx) is None
    out = ds[idx]  # training mode: another image is drawn instead
    assert out['data_samples'].img_path.endswith('chelsea.jpg')
    assert len(out['data_samples'].gt_rles) == 8
