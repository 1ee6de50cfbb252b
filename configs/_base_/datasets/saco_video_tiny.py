# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Stage 3 on the bundled samples with images and clips mixed (tests, quick
# start, CI): the SA-Co image pairs of saco_tiny.py plus the SA-Co/VEval-format
# clip data/samples/saco_video (12 frames of "carphone" at 6 fps, 3 positive
# and 2 negative phrases; frames read from data/samples/davis). mmdet's
# ConcatDataset + esam3's SourceBatchSampler (mmdet's
# MultiDataAspectRatioBatchSampler made infinite-sampler safe) make every
# batch come from one source: 2 images or 1 clip of 4 frames.
_base_ = ['./saco_tiny.py']
video_data_root = 'data/samples/'
num_frames = 4
video_meta_keys = ('text', 'is_negative', 'label')

video_train_pipeline = [
    dict(type='LoadVideoClip'),
    dict(
        type='mmcv.TransformBroadcaster',
        share_random_params=True,
        transforms=[
            # flip, then SAM3's square resize. No scale jitter: shrinking +
            # padding puts the teacher outside its input distribution, and
            # a random crop drops objects from a clip / a concept pair.
            dict(type='mmdet.RandomFlip', prob=0.5),
            dict(type='Sam3Resize', size={{_base_.img_size}}),
        ]),
    dict(type='PackVideoInputs', meta_keys=video_meta_keys),
]
video_test_pipeline = [
    dict(type='LoadVideoClip'),
    dict(
        type='mmcv.TransformBroadcaster',
        share_random_params=True,
        transforms=[
            # SAM3's processor: S x S, aspect ratio not kept (letterbox:
            # mmdet.Resize keep_ratio + PadBottomRight and
            # resize_mode='letterbox')
            dict(type='Sam3Resize', size={{_base_.img_size}}),
        ]),
    dict(type='PackVideoInputs', meta_keys=video_meta_keys),
]
video_dataset = dict(
    type='SACoVideoDataset',
    data_root=video_data_root,
    ann_file='saco_video/annotations.json',
    data_prefix=dict(img='davis/JPEGImages/480p/'),
    num_frames=num_frames,
    clip_mode='random',
    pipeline=video_train_pipeline)

train_dataloader = dict(
    _delete_=True,
    batch_size=[2, 1],  # per source: images, clips
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='SourceBatchSampler', num_datasets=2),
    dataset=dict(
        type='mmdet.ConcatDataset',
        ignore_keys=['dataset_name'],
        datasets=[{{_base_.train_dataloader.dataset}}, video_dataset]))
# video concept evaluation (configs/stage3/tiny_video.py): whole clip
video_val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SACoVideoDataset',
        data_root=video_data_root,
        ann_file='saco_video/annotations.json',
        data_prefix=dict(img='davis/JPEGImages/480p/'),
        clip_mode='full',
        test_mode=True,
        pipeline=video_test_pipeline))
