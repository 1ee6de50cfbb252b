# The light concept path (configs/concept_light/tiny.py: the text student
# instead of SAM3's CLIP, the DETR encoder on 2x pooled tokens, boxes
# distilled, score comparison reported) on the quick start's Stage 3 recipe
# with the proxy teacher (stage3.py), so that its cost in cgF1 shows:
#   python tools/train.py configs/proxy_teacher/text_distill.py --work-dir W/text
#   python tools/train.py configs/proxy_teacher/concept_light.py --work-dir W/light \
#       --cfg-options model.student.stage2_checkpoint=S2 \
#       model.student.text_student.pretrained=W/text/iter_200.pth
# One part alone: model.student.detr_encoder_pool=1 (text student only) or
# model.student.text_student=None (pooled DETR only); the text student
# trained here too: "model.student.frozen_heads=[tracker]". The quick
# start's Stage 3 checkpoint through this config with both parts off: the
# baseline with the score comparison. Measured: docs/concept_path.md.
from mmengine.config import read_base

with read_base():
    from .stage3 import *
    from ..text_distill.tiny import text_student

model.student.update(text_student=text_student, detr_encoder_pool=2)
model.update(distill_boxes=True, report_teacher_scores=True)
val_evaluator = [val_evaluator, dict(type='ScoreCalibrationMetric')]
test_evaluator = val_evaluator
