# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Stage 3 with images and clips mixed: the SA-Co image pairs of saco.py plus
# SA-Co/VEval-format video pairs (data/saco_video/annotations/train.json,
# frames in data/saco_video/JPEGImages/<video>/). mmdet's ConcatDataset +
# esam3's SourceBatchSampler (one batch size per source, infinite-sampler
# safe, no aspect-ratio grouping: every input is resized to S x S) make
# every batch come from one source: 4 images or 1 clip of 8 frames per GPU
# (32 images or 8 clips on 8 GPUs).
from mmengine.config import read_base

with read_base():
    from .saco import *
    from .pipelines import video_pipelines

video_data_root = 'data/saco_video/'
num_frames = 8
video_meta_keys = ('text', 'is_negative', 'label')
video_train_pipeline = video_pipelines(img_size, video_meta_keys)[0]
video_dataset = dict(
    type='SACoVideoDataset',
    data_root=video_data_root,
    ann_file='annotations/train.json',
    data_prefix=dict(img='JPEGImages/'),
    num_frames=num_frames,
    clip_mode='random',
    pipeline=video_train_pipeline)

train_dataloader = dict(
    batch_size=[4, 1],  # per source: images, clips
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='SourceBatchSampler', num_datasets=2),
    dataset=dict(
        type='mmdet.ConcatDataset',
        ignore_keys=['dataset_name'],
        datasets=[train_dataloader.dataset, video_dataset]))
del video_pipelines
