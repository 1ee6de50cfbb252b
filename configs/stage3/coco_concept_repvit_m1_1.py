# Concept segmentation evaluated with MMDetection's CocoMetric (bbox + segm
# AP) on COCO val2017: every category name is a text prompt, the instances
# found for it are the detections of that category.
_base_ = ['./repvit_m1_1.py']
data_root = 'data/coco/'
coco_test = dict(
    type='CocoConceptDataset',
    data_root=data_root,
    ann_file='annotations/instances_val2017.json',
    data_prefix=dict(img='val2017/'),
    test_mode=True,
    num_negatives=1000,  # prompt every category absent from the image too
    pipeline={{_base_.test_pipeline}})
val_dataloader = dict(dataset=dict(_delete_=True, **coco_test))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='mmdet.CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator
model = dict(score_thr=0.05)
