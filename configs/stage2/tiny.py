# Quick start / CI: Stage 2 on the bundled SA-V-format clip with a tiny
# random SAM3 video tracker teacher at 224 px; validation = J&F on the
# bundled DAVIS-format video (minutes on a laptop CPU).
# stage2_base.py with the tiny data, teacher, student and a 20-iteration
# schedule.
from mmengine.config import read_base

with read_base():
    from .stage2_base import *
    from .._base_.datasets.sav_tiny import *
    from .._base_.models.sam3_video_tiny import *
    from .._base_.models.students.efficientvit_b0 import *
    from .._base_.schedules.warmup_cosine import warmup_cosine

sam3_video_cfg = video_tracker_cfg  # the tiny tracker, not facebook/sam3
model.student.sam3_video = sam3_video_cfg
model.student.trunk.backbone = student_backbone
model.student.trunk.neck = student_neck
model.student.memory_bank.update(tiny_memory_bank)
model.student.update(
    # the tiny image tracker (Stage 1) is narrower than the tiny video
    # tracker, so its mask decoder cannot be carried over (real SAM3:
    # the same decoder, carried by default)
    decoder_from_trunk_checkpoint=False,
    # the tiny video tracker has a neck of its own (128 wide)
    level_branch='video',
    with_cp=False)
model.teacher = video_teacher_cfg
model.max_objects = 4

max_iters = 20
train_cfg.update(max_iters=max_iters, val_interval=max_iters)
optim_wrapper.update(accumulative_counts=1, optimizer=dict(lr=1e-4))
param_scheduler = warmup_cosine(max_iters, 5, start_factor=0.1)
default_hooks.update(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
del warmup_cosine
