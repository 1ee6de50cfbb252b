# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Keep at most ``max_num`` instances per image."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from esam3.registry import TRANSFORMS
from .instance_utils import num_instances, select_instances


@TRANSFORMS.register_module()
class SampleInstances(BaseTransform):
    """Randomly keep at most ``max_num`` instances (EdgeSAM / EfficientSAM3
    train with up to 16 prompts per image).

    All per-instance keys (mmdet's and esam3's ``gt_rles``,
    ``gt_point_coords``, ``gt_names``) stay aligned; the kept instances keep
    their original relative order.

    Required / modified keys: ``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_masks``, ``gt_ignore_flags``, ``gt_instances_ids`` and the extras
    (whichever are present).

    Args:
        max_num (int): Maximum number of instances. Defaults to 16.
        random (bool): Draw a random subset (training). If False keep the
            first ``max_num`` (deterministic, for evaluation). Defaults to
            True.
    """

    def __init__(self, max_num: int = 16, random: bool = True) -> None:
        if max_num < 1:
            raise ValueError(f'max_num must be >= 1, got {max_num}')
        self.max_num = max_num
        self.random = random

    @cache_randomness
    def _choose(self, num: int) -> np.ndarray:
        if not self.random:
            return np.arange(self.max_num)
        return np.sort(np.random.choice(num, self.max_num, replace=False))

    def transform(self, results: dict) -> dict:
        """Subsample the instances of one image.

        Args:
            results (dict): Pipeline results.

        Returns:
            dict: ``results`` with at most ``max_num`` instances.
        """
        num = num_instances(results)
        if num <= self.max_num:
            return results
        return select_instances(results, self._choose(num))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_num={self.max_num}, '
                f'random={self.random})')
