from mmengine.config import read_base

with read_base():
    from .stage2_base import *
    from .._base_.models.students.efficientvit_b2 import *

model.student.trunk.backbone = student_backbone
