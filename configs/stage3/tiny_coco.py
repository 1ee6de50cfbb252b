# CocoMetric (bbox + segm AP) on the bundled COCO-format sample: every
# category name is prompted on every image.
from mmengine.config import read_base

with read_base():
    from .tiny import *

coco_root = 'data/samples/coco/'
val_dataloader.dataset = dict(
    type='CocoConceptDataset',
    data_root=coco_root,
    ann_file='annotations/instances_val.json',
    data_prefix=dict(img='images/'),
    test_mode=True,
    num_negatives=1000,
    pipeline=test_pipeline)
test_dataloader = val_dataloader
val_evaluator = dict(
    type='mmdet.CocoMetric',
    ann_file=coco_root + 'annotations/instances_val.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator
model.score_thr = 0.0
