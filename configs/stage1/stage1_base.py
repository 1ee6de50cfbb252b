# Stage 1 (encoder distillation, prompt-in-the-loop) on SA-1B with the real
# SAM3 teacher at 1008 px. Students differ only in their backbone file; the
# tiny twin (tiny.py) starts from this file and changes only the values.
from mmengine.config import read_base

with read_base():
    from .._base_.default_runtime import *
    from .._base_.schedules.stage1 import *
    from .._base_.datasets.sa1b import *
    from .._base_.models.sam3 import *
    from .._base_.models.stage1_distiller import *

model.student.update(sam3=sam3_cfg, trunk=dict(neck=student_neck))
model.teacher = teacher_cfg
val_evaluator = [
    dict(type='PromptMIoUMetric', prefix='student'),
    dict(type='TeacherFidelityMetric', prefix='student_vs_teacher'),
]
test_evaluator = val_evaluator
