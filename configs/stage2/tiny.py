# Quick start / CI: Stage 2 on the bundled SA-V-format clip with a tiny
# random SAM3 video tracker teacher at 224 px; validation = J&F on the
# bundled DAVIS-format video (minutes on a laptop CPU).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/stage2.py',
    '../_base_/datasets/sav_tiny.py',
    '../_base_/models/sam3_video_tiny.py',
    '../_base_/models/stage2_distiller.py',
    '../_base_/models/students/efficientvit_b0.py',
]
model = dict(
    student=dict(
        sam3_video={{_base_.video_tracker_cfg}},
        trunk=dict(
            backbone={{_base_.student_backbone}},
            neck={{_base_.student_neck}}),
        memory_bank={{_base_.tiny_memory_bank}},
        # the tiny image tracker (Stage 1) is narrower than the tiny video
        # tracker, so its mask decoder cannot be carried over (real SAM3:
        # the same decoder, carried by default)
        decoder_from_trunk_checkpoint=False,
        # the tiny video tracker has a neck of its own (128 wide)
        level_branch='video',
        with_cp=False),
    teacher={{_base_.video_teacher_cfg}},
    max_objects=4)

max_iters = 20
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(accumulative_counts=1, optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - 5,
        eta_min_ratio=0.01,
        by_epoch=False,
        begin=5,
        end=max_iters),
]
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1),
    visualization=dict(_delete_=True, type='VOSPaletteWriterHook', draw=False))
