# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# SA-Co image / noun-phrase pairs for Stage 3 (promptable concept
# segmentation) at the SAM3 input size. Layout:
#   data/saco/annotations/train.json   SA-Co-format training pairs (yours)
#   data/saco/annotations/gold_*_merged_a_test.json   SA-Co/Gold (eval)
#   data/saco/images/metaclip/..., data/saco/images/sa1b/...
# Training samples exemplar boxes (p=0.5, 1-2 GT boxes) and hard negatives
# (p=0.3; confusable phrases from `confusables` or other phrases of the
# dataset absent from the image). The pipelines are in pipelines.py;
# saco_tiny.py changes only the values.
from mmengine.config import read_base

with read_base():
    from .pipelines import concept_pipelines

dataset_type = 'SACoDataset'
data_root = 'data/saco/'
img_size = 1008
confusables = None  # e.g. 'annotations/confusables.json'
backend_args = None

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'text', 'is_negative',
             'label', 'exemplar_boxes', 'gt_rles', 'hard_negative')
train_pipeline, test_pipeline = concept_pipelines(img_size, meta_keys,
                                                  backend_args)

train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/'),
        exemplar_prob=0.5,
        max_exemplars=2,
        hard_negative_prob=0.3,
        confusable_phrases=confusables,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/gold_metaclip_merged_a_test.json',
        data_prefix=dict(img='images/metaclip/'),
        exhaustive_only=True,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# the model's scores already include presence (SAM3: query x presence)
val_evaluator = dict(type='CGF1Metric', multiply_presence=False)
test_evaluator = val_evaluator
del concept_pipelines
