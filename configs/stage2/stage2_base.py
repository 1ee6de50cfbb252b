# Stage 2 (temporal memory distillation, EdgeTAM-style Perceiver memory) on
# SA-V clips with the real SAM3 video tracker as teacher, at 1008 px.
# Recipe: encoder frozen, AdamW lr 5e-5, warm-up + cosine, 16 clips per
# iteration (8 GPUs x 2), T = 8 annotated frames (6 fps), Perceiver dropout
# 0.1, gradient checkpointing on the memory.
# The student encoder comes from its Stage 1 checkpoint (strictly loaded):
#   python tools/train.py configs/stage2/repvit_m1_1.py --cfg-options \
#       model.student.trunk_checkpoint=work_dirs/stage1_repvit_m1_1/iter_N.pth
# SAM3 weights are gated: point `pretrained` at a local copy, e.g.
#   model.teacher.pretrained=/data/sam3 \
#   model.student.sam3_video.pretrained=/data/sam3
# Students differ only in their backbone file; the tiny twin (tiny.py)
# starts from this file and changes only the values.
from mmengine.config import read_base

with read_base():
    from .._base_.default_runtime import *
    from .._base_.schedules.stage2 import *
    from .._base_.datasets.sav import *
    from .._base_.models.sam3 import *
    from .._base_.models.stage2_distiller import *

# trunk size, fpn_channels, student_neck (the light neck of the Stage 1
# student, so that its checkpoint loads strictly; the video tracker reads its
# tracker levels: SAM3's video tracker shares the tracker neck) and
# trunk_neck (trunk mode, with a trunk-mode Stage 1 checkpoint:
# model.student.trunk.neck = trunk_neck) come from sam3.py
sam3_video_cfg = dict(pretrained='facebook/sam3')
# Stage 1 checkpoint of this student (None: encoder as built, e.g. tests).
# Edit it here, or on the command line set the model field itself (config
# variables are read when the file is parsed):
#   --cfg-options model.student.trunk_checkpoint=work_dirs/s1/iter_X.pth
stage1_checkpoint = None

model.student.update(
    sam3_video=sam3_video_cfg,
    trunk=dict(neck=student_neck),
    trunk_checkpoint=stage1_checkpoint,
    with_cp=True)
model.teacher = dict(type='Sam3VideoTeacher', **sam3_video_cfg)
# the Stage 1 weights enter through the strict trunk loader above, not
# through mmengine's non-strict `load_from`
load_from = None
# `tools/test.py --show-dir DIR` writes DAVIS palette PNGs per frame
default_hooks.visualization = dict(type='VOSPaletteWriterHook', draw=False)
