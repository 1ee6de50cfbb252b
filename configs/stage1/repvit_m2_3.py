from mmengine.config import read_base

with read_base():
    from .stage1_base import *
    from .._base_.models.students.repvit_m2_3 import *

model.student.trunk.backbone = student_backbone
