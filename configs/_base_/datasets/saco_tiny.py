# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Bundled SA-Co-format sample (data/samples/saco: 4 scikit-image photos,
# 11 image-phrase pairs incl. 4 negatives, classical-segmentation masks) at
# the tiny teacher's 224 px, for tests, the quick start and CI.
dataset_type = 'SACoDataset'
data_root = 'data/samples/saco/'
img_size = 224
confusables = 'confusables.json'
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
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations.json',
        data_prefix=dict(img=''),
        exemplar_prob=0.5,
        max_exemplars=2,
        hard_negative_prob=0.3,
        confusable_phrases=confusables,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# the model's scores already include presence (SAM3: query x presence)
val_evaluator = dict(type='CGF1Metric', multiply_presence=False)
test_evaluator = val_evaluator
