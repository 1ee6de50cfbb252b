# Real size: the Stage 3 RepViT-M1.1 recipe with the light concept path
# (docs/concept_path.md): the MobileCLIP-S0-sized text student distilled by
# configs/text_distill/mobileclip_s0.py instead of SAM3's CLIP, and the DETR
# encoder on the 2x average-pooled 72x72 detector level (36x36 tokens).
# Concept path at 1008 px: 249.6 GFLOPs (24.3x fewer than SAM3), 75.1M
# parameters. The text student checkpoint is required (strict load):
#   --cfg-options model.student.text_student.pretrained=CKPT
_base_ = ['../stage3/repvit_m1_1.py']
model = dict(
    student=dict(
        text_student=dict(
            type='Sam3LiteTextStudent',
            config=dict(
                hidden_size=512,
                intermediate_size=2048,
                projection_dim=512,
                num_hidden_layers=6,
                num_attention_heads=8,
                max_position_embeddings=32),
            out_channels=256,
            # what tools/train.py configs/text_distill/mobileclip_s0.py
            # writes (default work dir)
            pretrained='work_dirs/mobileclip_s0/iter_20000.pth'),
        detr_encoder_pool=2),
    distill_boxes=True,
    report_teacher_scores=True)
val_evaluator = [
    {{_base_.val_evaluator}},
    dict(type='ScoreCalibrationMetric'),
]
test_evaluator = val_evaluator
