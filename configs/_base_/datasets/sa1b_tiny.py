# Bundled SA-1B-format samples (data/samples/sa1b, 6 train / 2 val images) at
# the tiny teacher's 224 px; validation on the bundled COCO-format sample.
# sa1b.py with other values: the same pipelines (see pipelines.py for the
# meaning of every step); the JSONs are parsed eagerly so invalid files are
# reported up front.
from mmengine.config import read_base

with read_base():
    from .sa1b import *
    from .pipelines import prompt_test_pipeline, sa1b_train_pipeline

data_root = 'data/samples/sa1b/'
coco_root = 'data/samples/coco/'
img_size = 224
train_pipeline = sa1b_train_pipeline(img_size, meta_keys, backend_args)
test_pipeline = prompt_test_pipeline(img_size, meta_keys, backend_args)

train_dataloader.update(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='train.txt',
        lazy_parse=False,
        pipeline=train_pipeline))
val_dataloader.update(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=coco_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
del prompt_test_pipeline, sa1b_train_pipeline
