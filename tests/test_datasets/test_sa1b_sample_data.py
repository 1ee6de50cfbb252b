# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""The bundled image samples are valid, real and reproducible."""
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from esam3.datasets.utils import decode_rles, to_compressed_rle

SA1B_STEMS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera', 'arc2017',
              'coins', 'voc')
AUTO_STEMS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera', 'coins')


@pytest.fixture(scope='module')
def samples_dir(repo_root):
    return osp.join(repo_root, 'data', 'samples')


def _load(path):
    with open(path) as f:
        return json.load(f)


def _sa1b(samples_dir, stem):
    root = osp.join(samples_dir, 'sa1b')
    img = cv2.imread(osp.join(root, stem + '.jpg'))
    ann = _load(osp.join(root, stem + '.json'))
    return img, ann


def _boundary(mask):
    inner = cv2.erode(mask, np.ones((3, 3), np.uint8))
    b = (mask - inner).astype(bool)
    b[0, :] = b[-1, :] = b[:, 0] = b[:, -1] = False
    return b


def test_sa1b_schema_and_masks_decode(samples_dir):
    root = osp.join(samples_dir, 'sa1b')
    jpgs = sorted(f[:-4] for f in os.listdir(root) if f.endswith('.jpg'))
    assert jpgs == sorted(SA1B_STEMS)
    ann_ids, img_ids = set(), set()
    for stem in SA1B_STEMS:
        img, data = _sa1b(samples_dir, stem)
        h, w = img.shape[:2]
        assert max(h, w) <= 512
        info = data['image']
        assert info['file_name'] == stem + '.jpg'
        assert (info['height'], info['width']) == (h, w)
        img_ids.add(info['image_id'])
        anns = data['annotations']
        assert 8 <= len(anns) <= 32
        masks = decode_rles([a['segmentation'] for a in anns], h, w)
        for ann, mask in zip(anns, masks):
            assert set(ann) == {
                'id', 'segmentation', 'bbox', 'area', 'predicted_iou',
                'stability_score', 'point_coords', 'crop_box'
            }
            assert isinstance(ann['segmentation']['counts'], str)
            assert ann['segmentation']['size'] == [h, w]
            assert ann['area'] == int(mask.sum()) > 0
            ys, xs = np.nonzero(mask)
            x, y, bw, bh = ann['bbox']
            assert [x, y, x + bw, y + bh
                    ] == [xs.min(),
                          ys.min(),
                          xs.max() + 1,
                          ys.max() + 1]
            px, py = ann['point_coords'][0]
            assert mask[int(py), int(px)] == 1, 'point must be interior'
            assert ann['crop_box'] == [0, 0, w, h]
            assert 0 <= ann['stability_score'] <= 1
            assert 0 <= ann['predicted_iou'] <= 1
            ann_ids.add(ann['id'])
    assert len(img_ids) == len(SA1B_STEMS)
    assert len(ann_ids) == sum(
        len(_sa1b(samples_dir, s)[1]['annotations']) for s in SA1B_STEMS)


def test_split_lists_partition_images(samples_dir):
    root = osp.join(samples_dir, 'sa1b')
    splits = {}
    for split in ('train', 'val'):
        with open(osp.join(root, split + '.txt')) as f:
            splits[split] = [ln.strip() for ln in f if ln.strip()]
    assert len(splits['train']) == 6 and len(splits['val']) == 2
    assert sorted(splits['train'] + splits['val']) == sorted(SA1B_STEMS)


def test_masks_follow_image_edges(samples_dir):
    """Real segmentations: mask boundaries sit on strong image gradients,
    much more than the same masks shifted by 12 px (what random shapes
    would score), and classical masks are single connected regions."""
    for stem in SA1B_STEMS:
        img, data = _sa1b(samples_dir, stem)
        h, w = img.shape[:2]
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
        grad = np.hypot(
            cv2.Sobel(gray, cv2.CV_32F, 1, 0),
            cv2.Sobel(gray, cv2.CV_32F, 0, 1))
        masks = decode_rles([a['segmentation'] for a in data['annotations']],
                            h, w)
        true, shifted = [], []
        for mask in masks:
            b = _boundary(mask)
            bs = _boundary(np.roll(mask, (12, 12), (0, 1)))
            if b.any() and bs.any():
                true.append(grad[b].mean())
                shifted.append(grad[bs].mean())
            if stem in AUTO_STEMS:
                num, _ = cv2.connectedComponents(mask, connectivity=8)
                assert num == 2, f'{stem}: mask is not one region'
        assert np.mean(true) > 1.2 * np.mean(shifted), stem
        assert np.mean(true) > 1.4 * grad.mean(), stem


def test_coco_layout(samples_dir):
    root = osp.join(samples_dir, 'coco')
    data = _load(osp.join(root, 'annotations', 'instances_val.json'))
    cats = {c['id']: c['name'] for c in data['categories']}
    assert {'person', 'chair', 'coin'} <= set(cats.values())
    assert len(data['images']) == 3
    sizes = {}
    for info in data['images']:
        img = cv2.imread(osp.join(root, 'images', info['file_name']))
        assert img is not None
        assert img.shape[:2] == (info['height'], info['width'])
        sizes[info['id']] = img.shape[:2]
    kinds = set()
    for ann in data['annotations']:
        h, w = sizes[ann['image_id']]
        assert ann['category_id'] in cats and ann['iscrowd'] == 0
        segm = ann['segmentation']
        kinds.add('polygon' if isinstance(segm, list) else 'rle')
        mask = decode_rles([to_compressed_rle(segm, h, w)], h, w)[0]
        assert mask.sum() > 0
        assert abs(int(mask.sum()) - ann['area']) <= 0.25 * ann['area']
        x, y, bw, bh = ann['bbox']
        assert bw > 0 and bh > 0 and x + bw <= w and y + bh <= h
    assert kinds == {'polygon', 'rle'}
    assert len(data['annotations']) == 19 + 8 + 24


def test_size_budget_and_licences(samples_dir):
    total = 0
    for sub in ('sa1b', 'coco'):
        for dirpath, _, files in os.walk(osp.join(samples_dir, sub)):
            total += sum(osp.getsize(osp.join(dirpath, f)) for f in files)
    assert total < 3 * 1024 * 1024
    with open(osp.join(samples_dir, 'LICENSES.md')) as f:
        text = f.read()
    for stem in SA1B_STEMS:
        assert f'sa1b/{stem}' in text
    assert 'coco/annotations/instances_val.json' in text


def test_generator_is_deterministic(samples_dir, repo_root, tmp_path):
    script = osp.join(repo_root, 'tools', 'dataset_converters',
                      'make_sample_data.py')
    spec = importlib.util.spec_from_file_location('make_sample_data', script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(['--out', str(tmp_path)])
    for rel in [f'sa1b/{s}.json' for s in SA1B_STEMS] + [
            'sa1b/train.txt', 'sa1b/val.txt',
            'coco/annotations/instances_val.json'
    ]:
        with open(osp.join(samples_dir, rel), 'rb') as a, \
                open(osp.join(tmp_path, rel), 'rb') as b:
            assert a.read() == b.read(), rel
    for stem in SA1B_STEMS:
        a = cv2.imread(osp.join(samples_dir, 'sa1b', stem + '.jpg'))
        b = cv2.imread(osp.join(tmp_path, 'sa1b', stem + '.jpg'))
        assert a.shape == b.shape
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 2
