# Stage 1 tiny with the plug-in alignment head: only this file and the
# module it imports are new; esam3 itself is untouched.
from mmengine.config import read_base

with read_base():
    from ....configs.stage1.tiny import *

custom_imports = dict(
    imports=['projects.light_align_head.light_align_head'],
    allow_failed_imports=False)
model.student.trunk.neck = dict(
    type='LightAlignHead', out_channels=32, embed_dims=64)
