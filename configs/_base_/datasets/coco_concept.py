# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# COCO (or LVIS) instances as concept samples for Stage 3: one positive pair
# per (image, category present), plus sampled negatives of absent
# categories (LVIS: its verified neg_category_ids). For LVIS set
# ann_file='annotations/lvis_v1_train.json' and data_prefix=dict(img=''):
# LVIS images have no file_name, the path is taken from coco_url
# ('train2017/xxx.jpg'); category synonyms are sampled as phrases.
dataset_type = 'CocoConceptDataset'
data_root = 'data/coco/'
img_size = 1008
backend_args = None

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'text', 'is_negative',
             'label', 'exemplar_boxes', 'gt_rles', 'hard_negative')
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    # flip, then SAM3's square resize. No scale jitter: shrinking +
    # padding puts the teacher outside its input distribution, and
    # a random crop drops objects from a clip / a concept pair.
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='Sam3Resize', size=img_size),
    dict(type='PackConceptInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    # SAM3's processor: S x S, aspect ratio not kept (letterbox:
    # mmdet.Resize keep_ratio + PadBottomRight, resize_mode='letterbox')
    dict(type='Sam3Resize', size=img_size),
    dict(type='PackConceptInputs', meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        num_negatives=1,
        exemplar_prob=0.5,
        max_exemplars=2,
        hard_negative_prob=0.3,
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
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        num_negatives=1,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# the model's scores already include presence (SAM3: query x presence)
val_evaluator = dict(type='CGF1Metric', multiply_presence=False)
test_evaluator = val_evaluator
