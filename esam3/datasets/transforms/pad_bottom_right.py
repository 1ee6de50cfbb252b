# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Pad to a fixed ``S x S`` at the bottom/right, keeping ``img_shape``."""
from typing import Tuple, Union

from mmdet.datasets.transforms import Pad

from esam3.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PadBottomRight(Pad):
    """Mmdet :class:`~mmdet.datasets.transforms.Pad` to a fixed size that keeps
    ``img_shape`` as the unpadded shape.

    mmdet's ``Pad`` pads image, masks and seg map at the bottom/right but
    then overwrites ``img_shape`` with the padded shape. esam3's contract
    (and the models, which crop the padding away and mask padded tokens)
    needs ``img_shape`` = size after resize, before padding, so this
    subclass restores it and stores ``pad_shape`` as ``(h, w)``.

    Required keys: ``img``, ``img_shape``; optional ``gt_masks``,
    ``gt_seg_map``. Modified keys: ``img``, ``gt_masks``, ``gt_seg_map``.
    Added keys: ``pad_shape``, ``pad_fixed_size``, ``pad_size_divisor``.

    Args:
        size (int | tuple[int, int]): Output size ``S`` or ``(h, w)``.
        pad_val (dict | float): Padding values, mmdet style. Defaults to
            ``dict(img=0, masks=0, seg=255)``.
    """

    def __init__(
        self,
        size: Union[int, Tuple[int, int]],
        pad_val: Union[dict, float] = dict(img=0, masks=0, seg=255)
    ) -> None:
        hw = (size, size) if isinstance(size, int) else tuple(size)
        if isinstance(pad_val, dict) and isinstance(pad_val.get('img'), float):
            img_val = pad_val['img']
            pad_val = dict(
                pad_val,
                img=int(img_val) if float(img_val).is_integer() else img_val)
        super().__init__(
            size=(hw[1], hw[0]), pad_val=pad_val, padding_mode='constant')
        self.out_hw = hw

    def transform(self, results: dict) -> dict:
        """Pad one sample.

        Args:
            results (dict): Pipeline results.

        Returns:
            dict: Padded results; ``img_shape`` unchanged.

        Raises:
            ValueError: If the image is larger than the pad size.
        """
        h, w = results['img'].shape[:2]
        if h > self.out_hw[0] or w > self.out_hw[1]:
            raise ValueError(f'image {h}x{w} is larger than the pad size '
                             f'{self.out_hw[0]}x{self.out_hw[1]}; resize or '
                             'crop it first')
        img_shape = tuple(results.get('img_shape', (h, w))[:2])
        results = super().transform(results)
        results['img_shape'] = img_shape
        results['pad_shape'] = tuple(results['img'].shape[:2])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.out_hw}, '
                f'pad_val={self.pad_val})')
