# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# SA-V (Segment Anything Video) clips for Stage 2 temporal memory
# distillation, at the SAM3 input size. Layout (as downloaded from Meta):
#   data/sav/sav_train/sav_000/sav_000001.mp4 + sav_000001_manual.json, ...
#   data/sav/sav_val/JPEGImages_24fps/<vid>/%05d.jpg
#   data/sav/sav_val/Annotations_6fps/<vid>/<obj>/%05d.png
#   data/sav/sav_val/sav_val.txt
# Clips are T consecutive annotated frames (6 fps). T is fixed here so that
# a batch of clips can be stacked; use num_frames=(4, 8) for a random T per
# clip when the model consumes clips one by one (batch_size=1 or lists).
# The pipelines are in pipelines.py; sav_tiny.py changes only the values.
from mmengine.config import read_base

with read_base():
    from .pipelines import video_pipelines

dataset_type = 'SAVDataset'
data_root = 'data/sav/'
img_size = 1008
num_frames = 8
max_objects = 8

train_pipeline, test_pipeline = video_pipelines(img_size)

train_dataloader = dict(
    batch_size=2,  # clips per GPU
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(video='sav_train/'),
        ann_type='manual',
        num_frames=num_frames,
        max_objects=max_objects,
        clip_mode='random',
        on_invalid='skip',
        pipeline=train_pipeline))
# SA-V val: whole videos at the annotated 6 fps frames, first annotated
# frame = prompt; J&F skips the first and last annotated frame.
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='DAVISDataset',
        data_root=data_root + 'sav_val/',
        ann_file='sav_val.txt',
        data_prefix=dict(img='JPEGImages_24fps', ann='Annotations_6fps'),
        mask_layout='per_object',
        clip_mode='full',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOSMetric', convention='sav')
test_evaluator = val_evaluator
del video_pipelines
