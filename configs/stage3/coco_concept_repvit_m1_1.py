# Concept segmentation evaluated with MMDetection's CocoMetric (bbox + segm
# AP) on COCO val2017: every category name is a text prompt, the instances
# found for it are the detections of that category.
from mmengine.config import read_base

with read_base():
    from .repvit_m1_1 import *
    # COCO val2017 as concept pairs
    from .._base_.datasets.coco_concept import data_root, val_dataloader

# prompt every category absent from the image too
val_dataloader.dataset.num_negatives = 1000
test_dataloader = val_dataloader
val_evaluator = dict(
    type='mmdet.CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator
model.score_thr = 0.05
