# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Stage 3 on the bundled samples with images and clips mixed (tests, quick
# start, CI): the SA-Co image pairs of saco_tiny.py plus the SA-Co/VEval-format
# clip data/samples/saco_video (12 frames of "carphone" at 6 fps, 3 positive
# and 2 negative phrases; frames read from data/samples/davis), mixed as in
# saco_video.py: every batch is 2 images or 1 clip of 4 frames.
from mmengine.config import read_base

with read_base():
    from .saco_tiny import *  # the image pairs
    from .saco_video import train_dataloader as mixed_dataloader
    from .saco_video import video_dataset, video_meta_keys
    from .pipelines import video_pipelines

video_data_root = 'data/samples/'
num_frames = 4
video_train_pipeline, video_test_pipeline = video_pipelines(
    img_size, video_meta_keys)
video_dataset.update(
    data_root=video_data_root,
    ann_file='saco_video/annotations.json',
    data_prefix=dict(img='davis/JPEGImages/480p/'),
    num_frames=num_frames,
    pipeline=video_train_pipeline)
mixed_dataloader.update(
    batch_size=[2, 1], num_workers=0, persistent_workers=False)
mixed_dataloader.dataset.datasets = [train_dataloader.dataset, video_dataset]
train_dataloader = mixed_dataloader
# video concept evaluation (configs/stage3/tiny_video.py): whole clip, with
# the loader settings of the image evaluation
video_val_dataloader = dict(
    val_dataloader,
    dataset=dict(
        type='SACoVideoDataset',
        data_root=video_data_root,
        ann_file='saco_video/annotations.json',
        data_prefix=dict(img='davis/JPEGImages/480p/'),
        clip_mode='full',
        test_mode=True,
        pipeline=video_test_pipeline))
del mixed_dataloader, video_pipelines
