# Stage 2 distiller skeleton (temporal memory distillation). Stage configs
# fill in the SAM3 video tracker (student.sam3_video, teacher), the trunk size
# (neck out_channels / out_size) and the student backbone
# (student.trunk.backbone).
model = dict(
    type='Stage2Distiller',
    data_preprocessor=dict(
        type='Sam3DataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
        bgr_to_rgb=True),
    student=dict(
        type='Sam3VideoTrackerStudent',
        trunk=dict(
            type='StudentTrunk',
            neck=dict(type='Sam3AlignHead', mode='trunk', out_channels=None,
                      out_size=None)),
        # K = 256 global + 16x16 window latents per memory frame (EdgeTAM)
        memory_bank=dict(
            type='PerceiverMemoryBank',
            max_cond_frames=1,
            perceiver=dict(
                type='SpatialPerceiver', dim=64, num_global_latents=256,
                grid_size=(16, 16), depth=2, num_heads=1, ff_mult=4,
                dropout=0.1)),
        # encoder frozen; the SAM3 neck and prompt encoder stay as in the
        # teacher; the IoU head and the no-memory token get no gradient from
        # mask-prompted clips. Trained: Perceiver bank, memory attention,
        # memory encoder, mask decoder, object-pointer projection.
        frozen_heads=['vision_encoder', 'prompt_encoder',
                      'no_memory_embedding',
                      'mask_decoder.iou_prediction_head'],
        freeze_trunk=True,
        with_cp=True,
        # Stage 1 checkpoint of the same student (strict, keys under
        # 'student.trunk.'), e.g.
        #   --cfg-options model.student.trunk_checkpoint=work_dirs/s1/it.pth
        trunk_checkpoint=None),
    loss_dice=dict(type='DiceLoss', loss_weight=1.0),
    loss_focal=dict(type='SigmoidFocalLoss', loss_weight=20.0),
    loss_score=dict(type='BCELoss', loss_weight=1.0),
    # feature match on the memory readout (off by default)
    loss_readout=None,
    max_objects=8)
