# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .bce_loss import BCELoss
from .dice_loss import DiceLoss
from .focal_loss import SigmoidFocalLoss, sigmoid_focal_loss_map
from .giou_loss import GIoULoss
from .l1_box_loss import L1BoxLoss
from .masked_mse_loss import MaskedMSELoss

__all__ = [
    'BCELoss', 'DiceLoss', 'SigmoidFocalLoss', 'sigmoid_focal_loss_map',
    'GIoULoss', 'L1BoxLoss', 'MaskedMSELoss'
]
