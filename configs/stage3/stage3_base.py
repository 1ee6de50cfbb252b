# Stage 3 (end-to-end promptable concept segmentation) on SA-Co with the real
# SAM3 teacher at 1008 px. Start from the Stage 2 checkpoint of the same
# student (encoder + Perceiver-memory tracker, loaded strictly):
#   --cfg-options \
#     model.student.stage2_checkpoint=work_dirs/stage2_repvit_m1_1/iter_N.pth
# Training data: SA-Co images (saco.py); with SA-Co-style video data use
# configs/_base_/datasets/saco_video.py instead (images and clips mixed, see
# repvit_m1_1_mixed.py). Students differ only in their backbone file; the
# tiny twin (tiny.py) starts from this file and changes only the values.
from mmengine.config import read_base

with read_base():
    from .._base_.default_runtime import *
    from .._base_.schedules.stage3 import *
    from .._base_.datasets.saco import *
    from .._base_.models.sam3 import *
    from .._base_.models.stage3_distiller import *

model.student.update(
    sam3=sam3_cfg,
    trunk=dict(neck=student_neck),
    video=dict(sam3_video=sam3_cfg))
model.teacher = teacher_cfg
# DDP: SAM3's geometry (exemplar) encoder runs only on batches that carry
# exemplar boxes, so some trainable parameters get no gradient in a step.
find_unused_parameters = True
