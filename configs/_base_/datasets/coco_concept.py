# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# COCO (or LVIS) instances as concept samples for Stage 3: one positive pair
# per (image, category present), plus sampled negatives of absent
# categories (LVIS: its verified neg_category_ids). For LVIS set
# ann_file='annotations/lvis_v1_train.json' and data_prefix=dict(img=''):
# LVIS images have no file_name, the path is taken from coco_url
# ('train2017/xxx.jpg'); category synonyms are sampled as phrases.
# Loaders, pipelines and evaluator as for SA-Co (saco.py); only the
# datasets differ.
from mmengine.config import read_base

with read_base():
    from .saco import (img_size, backend_args, meta_keys, train_pipeline,
                       test_pipeline, train_dataloader, val_dataloader,
                       val_evaluator, test_evaluator)

dataset_type = 'CocoConceptDataset'
data_root = 'data/coco/'

train_dataloader.dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='annotations/instances_train2017.json',
    data_prefix=dict(img='train2017/'),
    num_negatives=1,
    exemplar_prob=0.5,
    max_exemplars=2,
    hard_negative_prob=0.3,
    pipeline=train_pipeline)
val_dataloader.dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='annotations/instances_val2017.json',
    data_prefix=dict(img='val2017/'),
    num_negatives=1,
    test_mode=True,
    pipeline=test_pipeline)
test_dataloader = val_dataloader
