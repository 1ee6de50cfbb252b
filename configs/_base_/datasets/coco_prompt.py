# COCO val2017 instances for promptable-segmentation evaluation (prompt mIoU
# with GT box / mask-centre point / point+k prompts, EdgeSAM protocol) at the
# SAM3 input size. For LVIS v1 use ann_file='annotations/lvis_v1_val.json'
# and data_prefix=dict(img='') (file names come from ``coco_url``).
#
# Child configs that change ``img_size`` / ``data_root`` must also redefine
# the pipeline / dataloaders: values are substituted when this file is
# parsed.
data_root = 'data/coco/'
img_size = 1008
backend_args = None

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'gt_rles',
             'gt_point_coords', 'gt_names', 'text', 'is_negative',
             'exemplar_boxes')
# Same as esam3.models.data_preprocessors.preprocess_image (deployment).
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadRLEAnnotations'),
    # SAM3's processor: S x S, aspect ratio not kept (letterbox:
    # mmdet.Resize keep_ratio + PadBottomRight, resize_mode='letterbox')
    dict(type='Sam3Resize', size=img_size),
    dict(type='mmdet.PackDetInputs', meta_keys=meta_keys),
]

val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoPromptDataset',
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(type='PromptMIoUMetric')
test_evaluator = val_evaluator
