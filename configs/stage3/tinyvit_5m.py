from mmengine.config import read_base

with read_base():
    from .stage3_base import *
    from .._base_.models.students.tinyvit_5m import *

model.student.trunk.backbone = student_backbone
