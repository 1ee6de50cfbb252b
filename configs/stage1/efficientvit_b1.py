from mmengine.config import read_base

with read_base():
    from .stage1_base import *
    from .._base_.models.students.efficientvit_b1 import *

model.student.trunk.backbone = student_backbone
