# Quick start / CI: the light concept path on the tiny Stage 3 recipe
# (configs/stage3/tiny.py): the distilled tiny text student instead of the
# tiny SAM3's CLIP, the DETR encoder on the 2x average-pooled coarsest
# detector level (8x8 tokens at 224 px; 36x36 at 1008 px), the teacher's
# boxes distilled too, and the student / teacher score comparison reported.
# Distil the text student first and point at its checkpoint:
#   python tools/train.py configs/text_distill/tiny.py --work-dir W/text
#   python tools/train.py configs/concept_light/tiny.py --cfg-options \
#       model.student.text_student.pretrained=W/text/iter_200.pth
from mmengine.config import read_base

with read_base():
    from ..stage3.tiny import *
    from ..text_distill.tiny import text_student

model.student.update(text_student=text_student, detr_encoder_pool=2)
model.update(distill_boxes=True, report_teacher_scores=True)
val_evaluator = [val_evaluator, dict(type='ScoreCalibrationMetric')]
test_evaluator = val_evaluator
