# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Esam3 image transforms (what mmdet lacks) and their sync of extras."""
import numpy as np
import pytest
import torch
from mmdet.datasets.transforms import RandomCrop, RandomFlip, Resize
from mmdet.structures.bbox import HorizontalBoxes

from esam3.datasets.transforms import (FilterEmptyInstances,
                                       LoadRLEAnnotations, PadBottomRight,
                                       SampleInstances)
from esam3.datasets.utils import decode_rles, encode_mask
from esam3.registry import TRANSFORMS

H, W = 40, 60


def _results(num=6, with_points=True):
    """``num`` rectangles; instance i has label i (identity for sync)."""
    instances = []
    for i in range(num):
        mask = np.zeros((H, W), np.uint8)
        x0, y0 = 8 * i + 1, 3 + i
        mask[y0:y0 + 10, x0:x0 + 6] = 1
        inst = dict(
            bbox=[x0, y0, x0 + 6, y0 + 10],
            bbox_label=i,
            ignore_flag=0,
            mask=encode_mask(mask))
        if with_points:
            inst['point_coords'] = [[x0 + 3.0, y0 + 5.0]]
        instances.append(inst)
    img = np.random.RandomState(0).randint(0, 255, (H, W, 3), np.uint8)
    return dict(
        img=img,
        img_shape=(H, W),
        ori_shape=(H, W),
        img_path='fake.jpg',
        instances=instances)


def _assert_synced(results):
    """gt_rles / points / names belong to the instance of the same row."""
    labels = results['gt_bboxes_labels']
    ref = _results(10)['instances']
    assert len(results['gt_rles']) == len(labels)
    for lab, rle, pt in zip(labels, results['gt_rles'],
                            results['gt_point_coords']):
        assert rle['counts'] == ref[lab]['mask']['counts']
        assert list(pt) == ref[lab]['point_coords'][0]


def test_load_rle_annotations_formats():
    res = _results(3)
    mask = decode_rles([res['instances'][1]['mask']], H, W)[0]
    # uncompressed RLE and polygon inputs are converted
    counts, run, last = [], 0, 0
    for v in mask.flatten(order='F'):
        if v != last:
            counts.append(run)
            run, last = 0, v
        run += 1
    counts.append(run)
    res['instances'][1]['mask'] = dict(size=[H, W], counts=counts)
    res['instances'][2]['mask'] = [[
        17.0, 5.0, 23.0, 5.0, 23.0, 15.0, 17.0, 15.0
    ]]
    res['instances'].append(
        dict(
            bbox=[0, 0, 5, 5],
            bbox_label=0,
            ignore_flag=1,
            mask=encode_mask(mask)))
    out = TRANSFORMS.build(dict(type='LoadSA1BAnnotations'))(res)
    assert isinstance(out['gt_bboxes'], HorizontalBoxes)
    assert out['gt_bboxes'].tensor.tolist()[0] == [1, 3, 7, 13]
    assert out['gt_masks'].masks.shape == (3, H, W)
    assert out['gt_masks'].masks.dtype == np.uint8
    assert (out['gt_masks'].masks[1] == mask).all()
    assert out['gt_masks'].masks[2, 5:15, 17:23].all()
    assert out['gt_ignore_flags'].tolist() == [False] * 3  # crowd dropped
    assert out['gt_bboxes_labels'].tolist() == [0, 1, 2]
    assert all(isinstance(r['counts'], str) for r in out['gt_rles'])
    assert out['gt_point_coords'].dtype == np.float32
    assert out['gt_point_coords'].shape == (3, 2)
    assert out['gt_instances_ids'].tolist() == [0, 1, 2]
    assert 'gt_names' not in out
    res = _results(2, with_points=False)
    res['instances'][0]['name'] = 'cup'
    res['instances'][1]['name'] = 'box'
    out = LoadRLEAnnotations()(res)
    assert out['gt_names'] == ['cup', 'box']
    assert 'gt_point_coords' not in out


def test_load_rle_annotations_errors():
    res = _results(2)
    res['instances'][1]['mask'] = encode_mask(np.ones((H + 1, W), np.uint8))
    with pytest.raises(ValueError, match='fake.jpg'):
        LoadRLEAnnotations()(res)
    res = _results(0)
    out = LoadRLEAnnotations()(res)
    assert out['gt_masks'].masks.shape == (0, H, W)
    assert out['gt_bboxes'].tensor.shape == (0, 4)


def test_mmdet_resize_keep_ratio_is_resize_longest_side():
    """Why esam3 has no ResizeLongestSide: mmdet's Resize with a square
    scale and keep_ratio already maps the longer side to S (up or down)."""
    for h, w in ((300, 451), (451, 300), (100, 60), (224, 224)):
        out = Resize(
            scale=(224, 224), keep_ratio=True)(
                dict(img=np.zeros((h, w, 3), np.uint8)))
        assert max(out['img'].shape[:2]) == 224
        s = 224 / max(h, w)
        assert out['img'].shape[:2] == (int(h * s + 0.5), int(w * s + 0.5))


def test_sample_instances_random_and_deterministic():
    res = LoadRLEAnnotations()(_results(10))
    np.random.seed(1)
    out = SampleInstances(max_num=4)(res)
    assert len(out['gt_bboxes']) == 4 and len(out['gt_masks']) == 4
    labels = out['gt_bboxes_labels'].tolist()
    assert labels == sorted(labels) and labels != [0, 1, 2, 3]
    _assert_synced(out)
    out = SampleInstances(
        max_num=4, random=False)(
            LoadRLEAnnotations()(_results(10)))
    assert out['gt_bboxes_labels'].tolist() == [0, 1, 2, 3]
    _assert_synced(out)
    small = LoadRLEAnnotations()(_results(3))
    assert len(SampleInstances(max_num=4)(small)['gt_rles']) == 3
    with pytest.raises(ValueError):
        SampleInstances(max_num=0)


def test_filter_empty_instances():
    res = LoadRLEAnnotations()(_results(5))
    res['gt_masks'].masks[1] = 0  # emptied by a crop
    boxes = res['gt_bboxes'].tensor.clone()
    boxes[3, 2] = boxes[3, 0]  # zero width
    res['gt_bboxes'] = HorizontalBoxes(boxes)
    out = FilterEmptyInstances()(res)
    assert out['gt_bboxes_labels'].tolist() == [0, 2, 4]
    assert len(out['gt_masks']) == 3 and len(out['gt_bboxes']) == 3
    _assert_synced(out)
    res = LoadRLEAnnotations()(_results(2))
    res['gt_masks'].masks[:] = 0
    assert FilterEmptyInstances()(res) is None
    res = LoadRLEAnnotations()(_results(2))
    res['gt_masks'].masks[:] = 0
    assert len(FilterEmptyInstances(drop_empty=False)(res)['gt_rles']) == 0


def test_random_crop_keeps_extras_in_sync():
    """Mmdet RandomCrop drops instances; FilterEmptyInstances re-syncs."""
    kept_some = False
    for seed in range(6):
        np.random.seed(seed)
        res = LoadRLEAnnotations()(_results(7))
        res = RandomFlip(prob=0.5)(res)
        res = RandomCrop(crop_size=(30, 25), recompute_bbox=True)(res)
        if res is None:
            continue
        out = FilterEmptyInstances()(res)
        if out is None:
            continue
        assert len(out['gt_bboxes_labels']) < 7
        kept_some = True
        _assert_synced(out)
        for lab, rle in zip(out['gt_bboxes_labels'], out['gt_rles']):
            assert rle['size'] == [H, W]  # original resolution
    assert kept_some


def test_pad_bottom_right_keeps_img_shape():
    res = LoadRLEAnnotations()(_results(2))
    res = Resize(scale=(32, 32), keep_ratio=True)(res)
    assert res['img_shape'] == (21, 32)
    out = PadBottomRight(size=32)(res)
    assert out['img'].shape == (32, 32, 3)
    assert out['img_shape'] == (21, 32) and out['pad_shape'] == (32, 32)
    assert (out['img'][21:] == 0).all()
    assert out['gt_masks'].masks.shape == (2, 32, 32)
    assert not out['gt_masks'].masks[:, 21:].any()
    with pytest.raises(ValueError, match='larger'):
        PadBottomRight(size=16)(
            dict(img=np.zeros((20, 10, 3), np.uint8), img_shape=(20, 10)))
    out = PadBottomRight(
        size=(24, 12), pad_val=dict(img=7.0))(
            dict(img=np.zeros((20, 10, 3), np.uint8), img_shape=(20, 10)))
    assert out['img'].shape == (24, 12, 3) and out['img'][23, 11, 0] == 7


def test_pack_puts_extras_in_metainfo():
    res = LoadRLEAnnotations()(_results(3))
    res = PadBottomRight(size=64)(res)
    meta_keys = ('img_shape', 'pad_shape', 'gt_rles', 'gt_point_coords')
    out = TRANSFORMS.build(
        dict(type='mmdet.PackDetInputs', meta_keys=meta_keys))(
            res)
    sample = out['data_samples']
    assert out['inputs'].shape == (3, 64, 64)
    assert out['inputs'].dtype == torch.uint8
    assert len(sample.gt_rles) == len(sample.gt_instances) == 3
    assert sample.img_shape == (H, W) and sample.pad_shape == (64, 64)
