# Real size: the Stage 3 RepViT-M1.1 recipe with the light concept path
# (docs/concept_path.md): the MobileCLIP-S0-sized text student distilled by
# configs/text_distill/mobileclip_s0.py instead of SAM3's CLIP, and the DETR
# encoder on the 2x average-pooled 72x72 detector level (36x36 tokens).
# Concept path at 1008 px: 249.6 GFLOPs (24.3x fewer than SAM3), 75.1M
# parameters. The text student checkpoint is required (strict load):
#   --cfg-options model.student.text_student.pretrained=CKPT
from mmengine.config import read_base

with read_base():
    from ..stage3.repvit_m1_1 import *
    from ..text_distill.mobileclip_s0 import text_student

# what tools/train.py configs/text_distill/mobileclip_s0.py writes (default
# work dir)
text_student.pretrained = 'work_dirs/mobileclip_s0/iter_20000.pth'
model.student.update(text_student=text_student, detr_encoder_pool=2)
model.update(distill_boxes=True, report_teacher_scores=True)
val_evaluator = [val_evaluator, dict(type='ScoreCalibrationMetric')]
test_evaluator = val_evaluator
