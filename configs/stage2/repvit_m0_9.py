from mmengine.config import read_base

with read_base():
    from .stage2_base import *
    from .._base_.models.students.repvit_m0_9 import *

model.student.trunk.backbone = student_backbone
