# Stage 2 distiller skeleton (temporal memory distillation). Stage configs
# fill in the SAM3 video tracker (student.sam3_video, teacher), the trunk size
# (neck out_channels / out_size) and the student backbone
# (student.trunk.backbone).
from mmengine.config import read_base

with read_base():
    from .perceiver_memory import *

model = dict(
    type='Stage2Distiller',
    data_preprocessor=dict(
        type='Sam3DataPreprocessor',
        mean=[127.5] * 3,
        std=[127.5] * 3,
        bgr_to_rgb=True),
    student=dict(
        type='Sam3VideoTrackerStudent',
        trunk=dict(
            type='StudentTrunk',
            # light neck: the student makes the FPN levels SAM3's heads
            # read (stage configs fill in widths and sizes)
            neck=dict(type='Sam3LightFPN')),
        memory_bank=memory_bank,
        memory_attention=memory_attention,
        frozen_heads=video_frozen_heads,
        freeze_trunk=True,
        with_cp=True,
        # Stage 1 checkpoint of the same student (strict, keys under
        # 'student.trunk.'), e.g.
        #   --cfg-options model.student.trunk_checkpoint=work_dirs/s1/it.pth
        trunk_checkpoint=None),
    # mmdet's Dice / focal / BCE losses, set to equal esam3's numerically
    # (esam3/models/losses/mmdet_loss_cfgs.py)
    loss_dice=dict(
        type='mmdet.DiceLoss',
        use_sigmoid=True,
        activate=True,
        naive_dice=True,
        eps=1.0,
        loss_weight=1.0),
    loss_focal=dict(
        type='mmdet.FocalLoss',
        use_sigmoid=True,
        gamma=2.0,
        alpha=0.25,
        loss_weight=20.0),
    loss_score=dict(
        type='mmdet.CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
    # feature match on the memory readout (off by default)
    loss_readout=None,
    max_objects=8)
