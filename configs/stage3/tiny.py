# Quick start / CI: Stage 3 concept fine-tuning on the bundled SA-Co-format
# sample (images) and the bundled SA-Co/VEval-format clip, mixed, with a tiny
# random SAM3 teacher at 224 px. Start from the Stage 2 tiny checkpoint with
# --cfg-options model.student.stage2_checkpoint=...
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/tiny.py',
    '../_base_/datasets/saco_video_tiny.py',
    '../_base_/models/sam3_video_tiny.py',
    '../_base_/models/stage3_distiller.py',
    '../_base_/models/students/efficientvit_b0.py',
]
model = dict(
    student=dict(
        sam3={{_base_.sam3_cfg}},
        trunk=dict(
            backbone={{_base_.student_backbone}},
            neck={{_base_.student_neck}}),
        video=dict(
            sam3_video={{_base_.video_tracker_cfg}},
            memory_bank={{_base_.tiny_memory_bank}},
            with_cp=False,
            level_branch='video'),
        # tiny image and video trackers differ in width: the Stage 2 decoder
        # cannot start the image tracker (real SAM3: carried by default)
        decoder_from_stage2=False),
    teacher={{_base_.teacher_cfg}},
    # the tiny teacher is random: distilling its concept scores keeps the
    # student's scores low (configs/stage3/tiny_long.py, 800 iterations:
    # IL_MCC at score 0.3 is 0.24 without distillation, 0.00 with it; at
    # 0.05 it is 0.57 vs 0.83; docs/stage3.md). The real configs keep
    # distill_weight=1.
    distill_weight=0.0,
    score_thr=0.3)
train_cfg = dict(max_iters=100, val_interval=100)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(
        type='CosineAnnealingLR',
        T_max=90,
        eta_min_ratio=0.01,
        by_epoch=False,
        begin=10,
        end=100),
]
default_hooks = dict(checkpoint=dict(interval=100), logger=dict(interval=20))
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=0.01,
        update_buffers=True,
        priority=49),
]
