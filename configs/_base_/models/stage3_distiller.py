# Stage 3 (promptable concept segmentation) skeleton. Stage configs fill in
# the SAM3 description (student.sam3, teacher), the trunk size and the
# student backbone.
model = dict(
    type='Stage3Distiller',
    data_preprocessor=dict(
        type='Sam3DataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
        bgr_to_rgb=True),
    student=dict(
        type='EfficientSAM3',
        trunk=dict(
            type='StudentTrunk',
            neck=dict(type='Sam3AlignHead', mode='trunk', out_channels=None,
                      out_size=None)),
        # encoder frozen by default (set freeze_trunk=False to unfreeze);
        # the text encoder stays frozen; the geometric tracker is unused.
        freeze_trunk=True,
        frozen_heads=['detector.text_encoder', 'tracker']),
    tokenizer=dict(type='Sam3Tokenizer', context_length=32),
    matcher=dict(type='HungarianMaskMatcher', cost_cls=2.0, cost_box=5.0,
                 cost_giou=2.0, cost_dice=1.0, cost_focal=1.0),
    distill_weight=1.0,
    score_thr=0.5)
