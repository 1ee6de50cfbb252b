# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Mmdet's CocoMetric works in the esam3 scope on top of mmcv-lite."""
import json

import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmengine.registry import init_default_scope

from esam3.registry import METRICS
from esam3.utils import MissingMMCVOpError, has_compiled_mmcv_ops

H = W = 40
# (image id, x0, y0, x1, y1) of the GT boxes; masks fill the boxes
GT_BOXES = [(1, 2, 2, 20, 20), (1, 24, 5, 38, 30), (2, 5, 10, 35, 35)]


def _mask(x0, y0, x1, y1):
    m = np.zeros((H, W), dtype=np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def _write_coco(path):
    anns = []
    for i, (img_id, x0, y0, x1, y1) in enumerate(GT_BOXES):
        rle = mask_utils.encode(np.asfortranarray(_mask(x0, y0, x1, y1)))
        rle['counts'] = rle['counts'].decode()
        anns.append(
            dict(
                id=i + 1,
                image_id=img_id,
                category_id=1,
                bbox=[x0, y0, x1 - x0, y1 - y0],
                area=float((x1 - x0) * (y1 - y0)),
                iscrowd=0,
                segmentation=rle))
    coco = dict(
        images=[
            dict(id=k, file_name=f'{k}.jpg', height=H, width=W) for k in (1, 2)
        ],
        annotations=anns,
        categories=[dict(id=1, name='thing')])
    path.write_text(json.dumps(coco))


def _samples(shift=0):
    out = []
    for img_id in (1, 2):
        boxes = [b[1:] for b in GT_BOXES if b[0] == img_id]
        if img_id == 1 and shift:  # move the first object of image 1
            x0, y0, x1, y1 = boxes[0]
            boxes[0] = (x0 + shift, y0, x1 + shift, y1)
        masks = torch.from_numpy(np.stack([_mask(*b) for b in boxes]))
        out.append(
            dict(
                img_id=img_id,
                ori_shape=(H, W),
                pred_instances=dict(
                    bboxes=torch.tensor(boxes, dtype=torch.float32),
                    scores=torch.full((len(boxes), ), 0.9),
                    labels=torch.zeros(len(boxes), dtype=torch.long),
                    masks=masks.bool())))
    return out


def _evaluate(tmp_path, samples):
    ann = tmp_path / 'tiny_coco.json'
    _write_coco(ann)
    init_default_scope('esam3')
    metric = METRICS.build(
        dict(
            type='mmdet.CocoMetric',
            ann_file=str(ann),
            metric=['bbox', 'segm']))
    metric.dataset_meta = dict(classes=('thing', ))
    metric.process({}, samples)
    return metric.evaluate(size=len(samples))


def test_coco_metric_perfect_and_wrong(tmp_path):
    perfect = _evaluate(tmp_path, _samples())
    assert perfect['coco/bbox_mAP'] == pytest.approx(1.0)
    assert perfect['coco/segm_mAP'] == pytest.approx(1.0)
    # first object shifted by 12 px: IoU with its GT = (6 * 18) / (2 * 324
    # - 108) = 0.2 < .5 -> a miss at every threshold; recall is 2/3, which
    # caps AP at 2/3 (and the false positive lowers it further)
    wrong = _evaluate(tmp_path, _samples(shift=12))
    assert 0 < wrong['coco/bbox_mAP'] <= 2 / 3
    assert 0 < wrong['coco/segm_mAP'] <= 2 / 3


@pytest.mark.skipif(
    has_compiled_mmcv_ops(), reason='compiled mmcv ops are installed')
def test_missing_mmcv_op_raises_named_error():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
    with pytest.raises(MissingMMCVOpError, match='"nms"'):
        nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
