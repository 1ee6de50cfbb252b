# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Validate and load user images and prompts for the inference APIs."""
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

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


def check_finite(values: np.ndarray, what: str) -> np.ndarray:
    """Raise ``ValueError`` naming ``what`` when a value is NaN or inf.

    NaN compares False with everything, so range checks alone let it through to
    the model (NaN scores, empty masks, or a C++ error deep in a kernel).
    """
    values = np.asarray(values)
    if values.dtype.kind in 'fc' and not np.isfinite(values).all():
        bad = np.argwhere(~np.isfinite(values))[0].tolist()
        raise ValueError(f'{what} must be finite numbers, got '
                         f'{values[tuple(bad)]} at index {bad}: '
                         f'{values.tolist()}')
    return values


def check_exemplars(
        boxes: Sequence,
        labels: Optional[Sequence[int]] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Validate concept exemplars (xyxy original pixels, labels 1/0).

    Args:
        boxes: ``[4]`` or ``[E, 4]`` boxes.
        labels: ``E`` labels (1 positive, 0 negative); all 1 when None.

    Returns:
        ``(boxes float32 [E, 4], labels int64 [E])``.

    Raises:
        ValueError: empty, mis-shaped, non-finite, zero-area or inverted
            boxes, or labels whose count or values do not fit.
    """
    b = check_finite(np.asarray(boxes, dtype=np.float32), 'exemplar boxes')
    if b.size == 0:
        raise ValueError('empty exemplar boxes list')
    b = b[None] if b.ndim == 1 else b
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError('exemplar boxes must be [4] or [E, 4] '
                         f'(x1, y1, x2, y2), got shape {b.shape}')
    bad = np.flatnonzero((b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1]))
    if bad.size:
        raise ValueError(f'zero-area or inverted exemplar box {int(bad[0])}: '
                         f'{b[bad[0]].tolist()} (need x2 > x1 and y2 > y1)')
    if labels is None:
        return b, np.ones(len(b), np.int64)
    lab = np.asarray(labels).reshape(-1)
    if len(lab) != len(b):
        raise ValueError(f'{len(b)} exemplar boxes but {len(lab)} '
                         'exemplar labels: give one label per box')
    if not np.isin(lab, (0, 1)).all():
        raise ValueError(f'exemplar labels must be 0 or 1, got {lab.tolist()}')
    return b, lab.astype(np.int64)
