# Quick start / CI: Stage 3 concept fine-tuning on the bundled SA-Co-format
# sample with a tiny random SAM3 teacher at 224 px. Start from the Stage 1
# tiny checkpoint with --cfg-options load_from=...
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/tiny.py',
    '../_base_/datasets/saco_tiny.py',
    '../_base_/models/sam3_tiny.py',
    '../_base_/models/stage3_distiller.py',
    '../_base_/models/students/efficientvit_b0.py',
]
model = dict(
    student=dict(
        sam3={{_base_.sam3_cfg}},
        trunk=dict(
            backbone={{_base_.student_backbone}},
            neck=dict(
                out_channels={{_base_.trunk_channels}},
                out_size=({{_base_.trunk_grid}}, {{_base_.trunk_grid}})))),
    teacher={{_base_.teacher_cfg}},
    score_thr=0.3)
train_cfg = dict(max_iters=100, val_interval=100)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', T_max=90, eta_min_ratio=0.01,
         by_epoch=False, begin=10, end=100),
]
default_hooks = dict(
    checkpoint=dict(interval=100), logger=dict(interval=20))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExponentialMovingAverage',
         momentum=0.01, update_buffers=True, priority=49),
]
