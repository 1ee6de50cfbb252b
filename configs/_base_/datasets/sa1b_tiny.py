# Bundled SA-1B-format samples (data/samples/sa1b, 6 train / 2 val images) at
# the tiny teacher's 224 px; validation on the bundled COCO-format sample.
# Same pipelines as sa1b.py (see there for the meaning of every step); the
# JSONs are parsed eagerly so invalid files are reported up front.
dataset_type = 'SA1BDataset'
data_root = 'data/samples/sa1b/'
coco_root = 'data/samples/coco/'
img_size = 224
backend_args = None

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'gt_rles',
             'gt_point_coords', 'gt_names', 'text', 'is_negative',
             'exemplar_boxes')
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadRLEAnnotations'),
    dict(
        type='RandomResize',
        resize_type='mmdet.Resize',
        keep_ratio=True,
        scale=[(4 * img_size, img_size * 640 // 1024),
               (4 * img_size, img_size)]),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.Brightness', prob=0.5, min_mag=0.9, max_mag=1.1),
    dict(type='mmdet.Contrast', prob=0.5, min_mag=0.9, max_mag=1.1),
    dict(type='mmdet.Color', prob=0.5, min_mag=0.9, max_mag=1.1),
    dict(
        type='mmdet.RandomCrop',
        crop_size=(img_size, img_size),
        crop_type='absolute',
        recompute_bbox=True,
        allow_negative_crop=False),
    dict(type='FilterEmptyInstances', min_mask_area=1),
    dict(type='SampleInstances', max_num=16),
    # then SAM3's square resize of the (<= S x S) crop to S x S
    dict(type='Sam3Resize', size=img_size),
    dict(type='mmdet.PackDetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadRLEAnnotations'),
    # SAM3's processor: S x S, aspect ratio not kept (letterbox:
    # mmdet.Resize keep_ratio + PadBottomRight, resize_mode='letterbox')
    dict(type='Sam3Resize', size=img_size),
    dict(type='mmdet.PackDetInputs', meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.txt',
        max_instances=32,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoPromptDataset',
        data_root=coco_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='PromptMIoUMetric')
test_evaluator = val_evaluator
