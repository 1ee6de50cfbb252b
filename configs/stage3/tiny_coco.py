# CocoMetric (bbox + segm AP) on the bundled COCO-format sample: every
# category name is prompted on every image.
_base_ = ['./tiny.py']
coco_root = 'data/samples/coco/'
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoConceptDataset',
        data_root=coco_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        num_negatives=1000,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='mmdet.CocoMetric',
    ann_file=coco_root + 'annotations/instances_val.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator
model = dict(score_thr=0.0)
