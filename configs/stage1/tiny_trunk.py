# configs/stage1/tiny.py with the trunk-mode student (it imitates the tiny
# teacher's ViT trunk and SAM3's own necks run on it), for comparison with the
# default light neck (docs/light_neck.md). The switch is the one line below.
from mmengine.config import read_base

with read_base():
    from .tiny import *

model.student.trunk.neck = trunk_neck
