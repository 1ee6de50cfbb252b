# Stage 2 distiller skeleton (temporal memory distillation). Stage configs
# fill in the SAM3 video tracker (student.sam3_video, teacher), the trunk size
# (neck out_channels / out_size) and the student backbone
# (student.trunk.backbone).
from mmengine.config import read_base

with read_base():
    from .distiller_parts import (loss_dice, loss_focal,
                                  sam3_data_preprocessor, student_trunk)
    from .perceiver_memory import *

model = dict(
    type='Stage2Distiller',
    data_preprocessor=sam3_data_preprocessor,
    student=dict(
        type='Sam3VideoTrackerStudent',
        trunk=student_trunk,
        memory_bank=memory_bank,
        memory_attention=memory_attention,
        frozen_heads=video_frozen_heads,
        freeze_trunk=True,
        with_cp=True,
        # Stage 1 checkpoint of the same student (strict, keys under
        # 'student.trunk.'), e.g.
        #   --cfg-options model.student.trunk_checkpoint=work_dirs/s1/it.pth
        trunk_checkpoint=None),
    loss_dice=loss_dice,
    loss_focal=loss_focal,
    # mmdet's BCE, set to equal esam3's numerically
    # (esam3/models/losses/mmdet_loss_cfgs.py)
    loss_score=dict(
        type='mmdet.CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
    # feature match on the memory readout (off by default)
    loss_readout=None,
    max_objects=8)
del sam3_data_preprocessor, student_trunk, loss_dice, loss_focal
