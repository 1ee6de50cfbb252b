# Stage 3 (promptable concept segmentation) skeleton. Stage configs fill in
# the SAM3 description (student.sam3, teacher), the trunk size and the
# student backbone; the video tracker (Perceiver memory) is described as in
# Stage 2 (perceiver_memory.py) and starts from the Stage 2 checkpoint.
from mmengine.config import read_base

with read_base():
    from .distiller_parts import sam3_data_preprocessor, student_trunk
    from .perceiver_memory import *

model = dict(
    type='Stage3Distiller',
    data_preprocessor=sam3_data_preprocessor,
    student=dict(
        type='EfficientSAM3',
        trunk=student_trunk,
        # encoder frozen by default (set freeze_trunk=False to unfreeze);
        # the text encoder stays frozen; the geometric tracker is unused.
        freeze_trunk=True,
        frozen_heads=['detector.text_encoder', 'tracker'],
        # tracker with the compressed memory, on the shared encoder:
        # trained on clips, links detections into masklets at test time
        video=dict(
            type='Sam3VideoTrackerStudent',
            trunk=None,
            memory_bank=memory_bank,
            memory_attention=memory_attention,
            frozen_heads=video_frozen_heads,
            with_cp=True),
        # Stage 2 checkpoint of the same student (strict: encoder + video
        # tracker), e.g.
        #   --cfg-options model.student.stage2_checkpoint=work_dirs/s2/it.pth
        stage2_checkpoint=None),
    tokenizer=dict(type='Sam3Tokenizer', context_length=32),
    matcher=dict(
        type='HungarianMaskMatcher',
        cost_cls=2.0,
        cost_box=5.0,
        cost_giou=2.0,
        cost_dice=1.0,
        cost_focal=1.0),
    distill_weight=1.0,
    score_thr=0.5)
del sam3_data_preprocessor, student_trunk
