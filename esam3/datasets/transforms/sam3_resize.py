# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SAM3's own resize: every image to ``S x S``, aspect ratio not kept.

transformers' ``Sam3ImageProcessor`` (and facebookresearch/sam3's
processor) resize every image to 1008 x 1008 with torchvision's bilinear,
antialiased resize and no padding. :func:`resize_square` is that very
resize (``torchvision.transforms.v2.functional.resize`` on the uint8
image), and :class:`Sam3Resize` is mmdet's ``Resize`` with
``keep_ratio=False`` whose image step calls it, so boxes, masks, seg maps
and homographies are scaled per axis by mmdet's own code and ``scale_factor``
holds ``(S / W, S / H)``.
"""
from typing import Tuple, Union

import numpy as np
import torch
from mmdet.datasets.transforms import Resize

from esam3.registry import TRANSFORMS


def resize_square(img: np.ndarray, size: Union[int, Tuple[int,
                                                          int]]) -> np.ndarray:
    """Resize an ``[H, W, C]`` uint8 image like ``Sam3ImageProcessor``.

    Bilinear with antialiasing (torchvision's uint8 kernel, the one the
    processor runs), aspect ratio NOT kept.

    Args:
        img (np.ndarray): ``[H, W, C]`` (or ``[H, W]``) uint8 image, any
            channel order (the resize is per channel).
        size (int | tuple[int, int]): ``S`` or ``(h, w)``.

    Returns:
        np.ndarray: ``[h, w, C]`` uint8 image.

    Raises:
        ValueError: If ``img`` is not a uint8 ``[H, W(, C)]`` array.
    """
    from torchvision.transforms.v2 import functional as tvF
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ValueError('resize_square expects a uint8 [H, W] or [H, W, C] '
                         f'image, got {img.dtype} {img.shape}')
    hw = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(img.shape[:2]) == hw:
        return img
    squeeze = img.ndim == 2
    chw = torch.from_numpy(
        np.ascontiguousarray(img[...,
                                 None] if squeeze else img)).permute(2, 0, 1)
    out = tvF.resize(
        chw,
        list(hw),
        interpolation=tvF.InterpolationMode.BILINEAR,
        antialias=True)
    out = out.permute(1, 2, 0).numpy()
    return out[..., 0] if squeeze else out


@TRANSFORMS.register_module()
class Sam3Resize(Resize):
    """Square resize to the teacher's input size, as SAM3's processor does.

    mmdet :class:`~mmdet.datasets.transforms.Resize` with
    ``keep_ratio=False``: the image goes through :func:`resize_square`
    (torchvision bilinear + antialias, what ``Sam3ImageProcessor`` runs),
    everything else (``gt_bboxes``, ``gt_masks``, ``gt_seg_map``,
    homography) is mapped per axis by mmdet. There is no padding, so
    ``pad_shape`` = ``img_shape`` = ``(S, S)`` is set too (the esam3
    contract: ``img_shape`` is the valid extent, ``pad_shape`` the canvas).
    ``gt_rles`` / ``gt_point_coords`` stay at the original resolution.

    Required keys: ``img``. Modified keys: ``img``, ``img_shape``,
    ``gt_bboxes``, ``gt_masks``, ``gt_seg_map``.
    Added keys: ``scale``, ``scale_factor``, ``keep_ratio``,
    ``pad_shape``.

    Args:
        size (int | tuple[int, int]): ``S`` or ``(h, w)``.
        clip_object_border (bool): Clip boxes to the image. Defaults to
            True.
    """

    def __init__(self,
                 size: Union[int, Tuple[int, int]],
                 clip_object_border: bool = True) -> None:
        hw = (size, size) if isinstance(size, int) else tuple(size)
        super().__init__(
            scale=(hw[1], hw[0]),
            keep_ratio=False,
            clip_object_border=clip_object_border)
        self.out_hw = hw

    def _resize_img(self, results: dict) -> None:
        """Resize the image with :func:`resize_square`."""
        img = results.get('img', None)
        if img is None:
            return
        h, w = img.shape[:2]
        results['img'] = resize_square(img, self.out_hw)
        results['img_shape'] = self.out_hw
        results['scale_factor'] = (self.out_hw[1] / w, self.out_hw[0] / h)
        results['keep_ratio'] = False

    def transform(self, results: dict) -> dict:
        """Resize one sample (image, boxes, masks, seg map).

        Args:
            results (dict): Pipeline results.

        Returns:
            dict: Resized results.
        """
        results = super().transform(results)
        results['pad_shape'] = tuple(results['img_shape'][:2])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.out_hw})'
