# SA-1B for Stage 1 (encoder distillation) at the SAM3 teacher's input size,
# validated with prompt mIoU on COCO val2017 (GT box / point prompts, the
# loaders of coco_prompt.py).
#
# Layout: <data_root>/<stem>.jpg + <stem>.json (SA-1B per-image JSON), as the
# SA-1B tars extract; an optional split list (``ann_file``) names the images
# (one stem or relative path per line, e.g. ``sa_000020/sa_223750.jpg``).
# JSONs are parsed lazily (``lazy_parse``): 11M images do not fit in memory.
# The pipelines are in pipelines.py; sa1b_tiny.py changes only the values.
from mmengine.config import read_base

with read_base():
    from .coco_prompt import *  # meta_keys, test_pipeline, val/test loaders
    from .pipelines import sa1b_train_pipeline

dataset_type = 'SA1BDataset'
data_root = 'data/sa1b/'
coco_root = 'data/coco/'
train_pipeline = sa1b_train_pipeline(img_size, meta_keys, backend_args)

train_dataloader = dict(
    batch_size=8,  # per GPU; 8 GPUs x 8 = 64 (see schedules/stage1.py)
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='',
        data_prefix=dict(img='', ann=''),
        max_instances=32,
        lazy_parse=True,
        pipeline=train_pipeline))
val_dataloader.dataset.data_root = coco_root
test_dataloader = val_dataloader
del sa1b_train_pipeline
