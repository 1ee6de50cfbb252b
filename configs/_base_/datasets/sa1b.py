# SA-1B for Stage 1 (encoder distillation) at the SAM3 teacher's input size,
# validated with prompt mIoU on COCO val2017 (GT box / point prompts).
#
# Layout: <data_root>/<stem>.jpg + <stem>.json (SA-1B per-image JSON), as the
# SA-1B tars extract; an optional split list (``ann_file``) names the images
# (one stem or relative path per line, e.g. ``sa_000020/sa_223750.jpg``).
# JSONs are parsed lazily (``lazy_parse``): 11M images do not fit in memory.
#
# Child configs that change ``img_size`` / ``data_root`` must also redefine
# the pipelines / dataloaders: values are substituted when this file is
# parsed.
dataset_type = 'SA1BDataset'
data_root = 'data/sa1b/'
coco_root = 'data/coco/'
img_size = 1008
backend_args = None

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'gt_rles',
             'gt_point_coords', 'gt_names', 'text', 'is_negative',
             'exemplar_boxes')
# Paper recipe scaled to img_size: random resize with the short side in
# [640, 1024] / 1024 * S, hflip 0.5, small colour jitter, random S x S crop,
# then SAM3's square resize to S x S (no padding: the teacher sees inputs
# like its own processor's). The dataset keeps up to 32 instances per draw
# (decoding all ~100 SA-1B masks per image is slow); 16 survive the crop.
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
# Deployment path (= esam3.models.data_preprocessors.preprocess_image):
# S x S like transformers' Sam3ImageProcessor.
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadRLEAnnotations'),
    # SAM3's processor: S x S, aspect ratio not kept (letterbox:
    # mmdet.Resize keep_ratio + PadBottomRight, resize_mode='letterbox')
    dict(type='Sam3Resize', size=img_size),
    dict(type='mmdet.PackDetInputs', meta_keys=meta_keys),
]

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
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoPromptDataset',
        data_root=coco_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(type='PromptMIoUMetric')
test_evaluator = val_evaluator
