# COCO val2017 instances for promptable-segmentation evaluation (prompt mIoU
# with GT box / mask-centre point / point+k prompts, EdgeSAM protocol) at the
# SAM3 input size. For LVIS v1 use ann_file='annotations/lvis_v1_val.json'
# and data_prefix=dict(img='') (file names come from ``coco_url``).
# A child that changes ``img_size`` calls ``prompt_test_pipeline`` again.
from mmengine.config import read_base

with read_base():
    from .pipelines import prompt_test_pipeline

data_root = 'data/coco/'
img_size = 1008
backend_args = None

meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'gt_rles',
             'gt_point_coords', 'gt_names', 'text', 'is_negative',
             'exemplar_boxes')
test_pipeline = prompt_test_pipeline(img_size, meta_keys, backend_args)

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
del prompt_test_pipeline
