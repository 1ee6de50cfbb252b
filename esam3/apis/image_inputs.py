# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Validate and load user images for the inference APIs."""
import os.path as osp
from typing import Union

import cv2
import numpy as np

ImageInput = Union[str, np.ndarray]


def load_image(image: ImageInput, channel_order: str = 'rgb') -> np.ndarray:
    """Return a contiguous uint8 BGR ``[H, W, 3]`` array.

    Raises:
        FileNotFoundError / ValueError / TypeError naming what is wrong.
    """
    if channel_order not in ('rgb', 'bgr'):
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got "
                         f'{channel_order!r}')
    if isinstance(image, str):
        if not osp.isfile(image):
            raise FileNotFoundError(f'image not found: {image}')
        img = cv2.imread(image, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'cannot decode image file: {image}')
        return img
    if not isinstance(image, np.ndarray):
        raise TypeError(f'image must be a path or numpy array, got '
                        f'{type(image).__name__}')
    if image.dtype != np.uint8:
        raise TypeError(f'image dtype must be uint8, got {image.dtype}')
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'image must be HxWx3, got shape {image.shape}')
    if min(image.shape[:2]) < 1:
        raise ValueError(f'empty image of shape {image.shape}')
    img = image[..., ::-1] if channel_order == 'rgb' else image
    return np.ascontiguousarray(img)
