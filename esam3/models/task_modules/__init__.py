# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .hungarian_mask_matcher import HungarianMaskMatcher
from .match_costs import (box_l1_cost, class_cost, dice_cost, focal_cost,
                          giou_cost)

__all__ = [
    'HungarianMaskMatcher', 'dice_cost', 'focal_cost', 'class_cost',
    'box_l1_cost', 'giou_cost'
]
