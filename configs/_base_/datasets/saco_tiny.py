# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Bundled SA-Co-format sample (data/samples/saco: 4 scikit-image photos,
# 11 image-phrase pairs incl. 4 negatives, classical-segmentation masks) at
# the tiny teacher's 224 px, for tests, the quick start and CI.
# saco.py with other values (all bundled pairs are instance-exhaustive, so
# the validation filter of saco.py keeps every pair).
from mmengine.config import read_base

with read_base():
    from .saco import *
    from .pipelines import concept_pipelines

data_root = 'data/samples/saco/'
img_size = 224
confusables = 'confusables.json'
train_pipeline, test_pipeline = concept_pipelines(img_size, meta_keys,
                                                  backend_args)

train_dataloader.update(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations.json',
        data_prefix=dict(img=''),
        confusable_phrases=confusables,
        pipeline=train_pipeline))
val_dataloader.update(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations.json',
        data_prefix=dict(img=''),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
del concept_pipelines
