# Fine-tune an esam3 student (the tiny Stage 3 EfficientSAM3) on COCO-format
# custom data, from its Stage 3 checkpoint:
#   python tools/train.py configs/finetune/student_tiny_coco.py \
#       --cfg-options load_from=work_dirs/stage3/iter_100.pth
# Same data and losses as sam3_tiny_coco.py (concept losses + geometric
# prompts on the positive instances); no teacher. The encoder stays frozen
# by default (model.student.freeze_trunk=False to train it too).
_base_ = [
    './sam3_tiny_coco.py', '../_base_/models/students/efficientvit_b0.py'
]
model = dict(
    student=dict(
        _delete_=True,
        type='EfficientSAM3',
        sam3={{_base_.sam3_cfg}},
        trunk=dict(
            type='StudentTrunk',
            backbone={{_base_.student_backbone}},
            neck={{_base_.student_neck}}),
        freeze_trunk=True,
        # the geometric tracker is trained here too (Stage 3 freezes it)
        frozen_heads=['detector.text_encoder']))
