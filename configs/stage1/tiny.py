# Quick start / CI: Stage 1 on the bundled SA-1B-format sample images with a
# tiny random SAM3 teacher at 224 px (minutes on a laptop CPU).
# stage1_base.py with the tiny data, teacher, student and schedule.
from mmengine.config import read_base

with read_base():
    from .stage1_base import *
    from .._base_.datasets.sa1b_tiny import *
    from .._base_.models.sam3_tiny import *
    from .._base_.models.students.efficientvit_b0 import *
    from .._base_.schedules.tiny import *
    # Stage 1's metrics again (the tiny data file brings plain mIoU)
    from .stage1_base import test_evaluator, val_evaluator

model.student.sam3 = sam3_cfg
# see the note below on why the tiny recipe freezes all heads
model.student.frozen_heads = ['detector', 'tracker']
model.student.trunk.backbone = student_backbone
model.student.trunk.neck = student_neck
model.teacher = teacher_cfg
model.update(feat_level_weights=feat_level_weights, max_instances=8)
# The tiny teacher is random: its mask decoder encodes no real shape prior,
# and training the student's copy at the quick-start lr makes it collapse
# (all-on / all-off masks). So here only the encoder + alignment head
# learn; the real-teacher configs keep EdgeSAM's trainable mask decoder.
default_hooks.update(checkpoint=dict(interval=200), logger=dict(interval=20))
# DDP (tools/dist_train.sh): the tiny students' third light-neck branch
# ('video', for the separate tiny video tracker of Stage 2) gets no gradient
# in Stage 1. The real configs have no such branch.
find_unused_parameters = True
