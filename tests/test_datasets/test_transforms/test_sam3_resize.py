# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SAM3-native preprocessing: square resize == transformers'
Sam3ImageProcessor; boxes / masks mapped per axis; the predictor's input."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures.mask import BitmapMasks

from esam3.datasets.transforms import Sam3Resize, resize_square
from esam3.models.data_preprocessors import preprocess_image

PHOTOS = ('sa1b/astronaut.jpg', 'sa1b/coffee.jpg', 'coco/images/voc.jpg')


def _processor(size):
    # built from its defaults (no hub): SAM3's 1008 px recipe, resized
    from transformers import Sam3ImageProcessor
    return Sam3ImageProcessor(size=dict(height=size, width=size))


@pytest.mark.parametrize('size', [1008, 224])
def test_preprocess_image_equals_sam3_image_processor(repo_root, size):
    proc = _processor(size)
    assert list(proc.image_mean) == list(proc.image_std) == [0.5] * 3
    for name in PHOTOS:
        bgr = cv2.imread(osp.join(repo_root, 'data', 'samples', name))
        ref = proc(
            images=np.ascontiguousarray(bgr[..., ::-1]),
            return_tensors='pt')['pixel_values']
        pixels, meta = preprocess_image(bgr, size)
        assert pixels.shape == ref.shape == (1, 3, size, size)
        assert (pixels - ref).abs().mean() < 0.02, name
        h, w = bgr.shape[:2]
        assert meta['scale_factor'] == pytest.approx((size / w, size / h))
        if h != w:  # the letterbox option is far from the teacher's input
            boxed, _ = preprocess_image(bgr, size, resize_mode='letterbox')
            assert (boxed - ref).abs().mean() > 0.1, name


def test_sam3_resize_maps_boxes_and_masks_per_axis():
    img = np.zeros((20, 40, 3), np.uint8)
    img[2:10, 4:20] = 200
    mask = np.zeros((1, 20, 40), np.uint8)
    mask[0, 2:10, 4:20] = 1
    from mmdet.structures.bbox import HorizontalBoxes
    results = dict(
        img=img,
        img_shape=(20, 40),
        ori_shape=(20, 40),
        gt_bboxes=HorizontalBoxes(torch.tensor([[4., 2., 20., 10.]])),
        gt_masks=BitmapMasks(mask, 20, 40))
    out = Sam3Resize(80)(results)
    assert out['img'].shape == (80, 80, 3)
    assert out['img_shape'] == out['pad_shape'] == (80, 80)
    assert out['scale_factor'] == (2.0, 4.0)  # x by 80/40, y by 80/20
    assert out['gt_bboxes'].tensor.tolist() == [[8., 8., 40., 40.]]
    m = out['gt_masks'].masks[0]
    assert m.shape == (80, 80)
    ys, xs = np.nonzero(m)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (8, 39, 8, 39)
    # homography recorded for later box mapping (exemplar boxes)
    np.testing.assert_allclose(out['homography_matrix'], np.diag([2., 4., 1.]))


def test_resize_square_checks_input():
    with pytest.raises(ValueError, match='uint8'):
        resize_square(np.zeros((4, 4, 3), np.float32), 8)
    gray = np.arange(16, dtype=np.uint8).reshape(4, 4)
    assert resize_square(gray, (8, 6)).shape == (8, 6)
    assert resize_square(gray, 4) is gray
