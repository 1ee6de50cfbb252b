# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Parts every esam3 distiller config (stage{1,2,3}_distiller.py) shares,
# written once: SAM3's input normalisation, the student trunk skeleton and
# the mask losses. The distiller files use them and delete the names, so
# they do not appear a second time in the resolved configs.

# SAM3's normalisation (mean = std = 0.5 on [0, 1]), as at deployment
sam3_data_preprocessor = dict(
    type='Sam3DataPreprocessor',
    mean=[127.5] * 3,
    std=[127.5] * 3,
    bgr_to_rgb=True)
student_trunk = dict(
    type='StudentTrunk',
    # light neck: the student makes the FPN levels SAM3's heads
    # read (stage configs fill in widths and sizes)
    neck=dict(type='Sam3LightFPN'))
# mmdet's Dice / focal losses, set to equal esam3's numerically
# (esam3/models/losses/mmdet_loss_cfgs.py)
loss_dice = dict(
    type='mmdet.DiceLoss',
    use_sigmoid=True,
    activate=True,
    naive_dice=True,
    eps=1.0,
    loss_weight=1.0)
loss_focal = dict(
    type='mmdet.FocalLoss',
    use_sigmoid=True,
    gamma=2.0,
    alpha=0.25,
    loss_weight=20.0)
