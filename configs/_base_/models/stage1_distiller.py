# Stage 1 distiller skeleton. Stage configs fill in the SAM3 description
# (student.sam3, teacher), the trunk size (neck out_channels / out_size) and
# the student backbone (student.trunk.backbone).
from mmengine.config import read_base

with read_base():
    from .distiller_parts import (loss_dice, loss_focal,
                                  sam3_data_preprocessor, student_trunk)

model = dict(
    type='Stage1Distiller',
    data_preprocessor=sam3_data_preprocessor,
    student=dict(
        type='EfficientSAM3',
        trunk=student_trunk,
        # EdgeSAM recipe: encoder + mask decoder train, prompt encoder and
        # necks stay as in the teacher; concept heads are unused in Stage 1.
        frozen_heads=[
            'detector', 'tracker.vision_encoder', 'tracker.prompt_encoder',
            'tracker.no_memory_embedding'
        ]),
    # feature term at the light neck's outputs: per SAM3 neck, one weight
    # per level (finest first: 288/144/72 at 1008 px) against the teacher's
    # neck outputs; a trunk-mode student gets trunk MSE instead
    loss_feat=dict(type='MaskedMSELoss', loss_weight=1.0),
    feat_level_weights=dict(tracker=(1.0, 1.0, 1.0), detector=(1.0, 1.0, 1.0)),
    loss_dice=loss_dice,
    loss_focal=loss_focal,
    # EdgeSAM: distil all 4 mask tokens (single + multimask) and regress the
    # teacher's predicted IoUs with the IoU head
    mask_tokens='all',
    loss_iou=dict(type='mmdet.MSELoss', loss_weight=1.0),
    max_instances=16,
    box_prob=0.5,
    num_refine=1,
    min_refine_region=10,
    eval_clicks=3)
del sam3_data_preprocessor, student_trunk, loss_dice, loss_focal
