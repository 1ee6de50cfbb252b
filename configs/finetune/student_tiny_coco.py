# Fine-tune an esam3 student (the tiny Stage 3 EfficientSAM3) on COCO-format
# custom data, from its Stage 3 checkpoint:
#   python tools/train.py configs/finetune/student_tiny_coco.py \
#       --cfg-options load_from=work_dirs/stage3/iter_100.pth
# Same data and losses as sam3_tiny_coco.py (concept losses + geometric
# prompts on the positive instances); no teacher. The encoder stays frozen
# by default (model.student.freeze_trunk=False to train it too).
from mmengine.config import read_base

with read_base():
    from .sam3_tiny_coco import *
    from .._base_.models.students.efficientvit_b0 import *

model.student = dict(
    type='EfficientSAM3',
    sam3=sam3_cfg,
    trunk=dict(
        type='StudentTrunk', backbone=student_backbone, neck=student_neck),
    freeze_trunk=True,
    # the geometric tracker is trained here too (Stage 3 freezes it)
    frozen_heads=['detector.text_encoder'])
