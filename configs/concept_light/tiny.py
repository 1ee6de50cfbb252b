# Quick start / CI: the light concept path on the tiny Stage 3 recipe
# (configs/stage3/tiny.py): the distilled tiny text student instead of the
# tiny SAM3's CLIP, the DETR encoder on the 2x average-pooled coarsest
# detector level (8x8 tokens at 224 px; 36x36 at 1008 px), the teacher's
# boxes distilled too, and the student / teacher score comparison reported.
# Distil the text student first and point at its checkpoint:
#   python tools/train.py configs/text_distill/tiny.py --work-dir W/text
#   python tools/train.py configs/concept_light/tiny.py --cfg-options \
#       model.student.text_student.pretrained=W/text/iter_200.pth
_base_ = ['../stage3/tiny.py']
model = dict(
    student=dict(
        text_student=dict(
            type='Sam3LiteTextStudent',
            # configs/text_distill/tiny.py's student
            config=dict(
                hidden_size=64,
                intermediate_size=128,
                projection_dim=64,
                num_hidden_layers=3,
                num_attention_heads=2,
                max_position_embeddings=32),
            out_channels=32,
            pretrained=None),
        detr_encoder_pool=2),
    distill_boxes=True,
    report_teacher_scores=True)
val_evaluator = [
    {{_base_.val_evaluator}},
    dict(type='ScoreCalibrationMetric'),
]
test_evaluator = val_evaluator
