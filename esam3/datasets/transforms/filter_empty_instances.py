# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Drop instances that a crop emptied (or that never had any area)."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from esam3.registry import TRANSFORMS
from .instance_utils import num_instances, select_instances


@TRANSFORMS.register_module()
class FilterEmptyInstances(BaseTransform):
    """Remove instances with an (almost) empty mask or a degenerate box.

    Place it after geometric transforms that can cut instances away (e.g.
    mmdet ``RandomCrop``): it also re-aligns esam3's per-instance extras
    (``gt_rles``, ``gt_point_coords``, ``gt_names``) with the instances that
    mmdet transforms kept.

    Required / modified keys: ``gt_bboxes``, ``gt_masks`` (optional),
    ``gt_bboxes_labels``, ``gt_ignore_flags``, ``gt_instances_ids`` and the
    extras (whichever are present).

    Args:
        min_mask_area (int): Minimum number of mask pixels. Defaults to 1.
        min_box_size (float): Boxes need width and height strictly greater
            than this. Defaults to 0.
        drop_empty (bool): Return ``None`` (mmengine then draws another
            sample in training) when no instance is left. Defaults to True.
    """

    def __init__(self,
                 min_mask_area: int = 1,
                 min_box_size: float = 0.,
                 drop_empty: bool = True) -> None:
        self.min_mask_area = min_mask_area
        self.min_box_size = min_box_size
        self.drop_empty = drop_empty

    def transform(self, results: dict) -> Optional[dict]:
        """Filter the instances of one image.

        Args:
            results (dict): Pipeline results.

        Returns:
            dict | None: Filtered ``results``, or None when nothing is left
            and ``drop_empty`` is True.
        """
        keep = np.ones(num_instances(results), dtype=bool)
        if results.get('gt_masks') is not None and len(keep):
            keep &= np.asarray(results['gt_masks'].areas) >= \
                self.min_mask_area
        if results.get('gt_bboxes') is not None and len(keep):
            boxes = results['gt_bboxes']
            wh = (boxes.widths, boxes.heights) if hasattr(
                boxes, 'widths') else (boxes[:, 2] - boxes[:, 0],
                                       boxes[:, 3] - boxes[:, 1])
            keep &= (np.asarray(wh[0]) > self.min_box_size) & \
                (np.asarray(wh[1]) > self.min_box_size)
        select_instances(results, keep)
        if self.drop_empty and not keep.any():
            return None
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'min_mask_area={self.min_mask_area}, '
                f'min_box_size={self.min_box_size}, '
                f'drop_empty={self.drop_empty})')
