# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .boundary import (boundary_precision_recall, boundary_tolerance,
                       db_eval_boundary, disk_kernel, f_measure,
                       seg_to_boundary)
from .cgf1 import COCO_IOU_THRS, cgf1_pair_counts, cgf1_summary
from .mask_iou import db_eval_iou, mask_iou, pairwise_mask_iou, to_bool_array
from .masklet_iou import masklet_iou
from .mcc import mcc

__all__ = [
    'mask_iou', 'pairwise_mask_iou', 'db_eval_iou', 'to_bool_array',
    'seg_to_boundary', 'boundary_tolerance', 'boundary_precision_recall',
    'f_measure', 'db_eval_boundary', 'disk_kernel', 'mcc', 'cgf1_pair_counts',
    'cgf1_summary', 'COCO_IOU_THRS', 'masklet_iou'
]
