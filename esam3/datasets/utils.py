# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Helpers shared by the image datasets: COCO RLE handling and skip counting.

All RLEs handled by esam3 are *compressed* COCO RLEs whose ``counts`` is a
``str`` (JSON friendly), e.g. ``{'size': [h, w], 'counts': '...'}``.
"""
from collections import Counter
from typing import Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import pycocotools.mask as mask_utils
from mmengine.logging import MMLogger, print_log

RLE = Dict[str, Union[List[int], str]]


def encode_mask(mask: np.ndarray) -> RLE:
    """Encode one binary mask ``[H, W]`` as a compressed RLE (``str`` counts).

    Args:
        mask (np.ndarray): Binary mask of shape ``(H, W)``.

    Returns:
        dict: ``{'size': [H, W], 'counts': str}``.
    """
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(s) for s in rle['size']],
                counts=rle['counts'].decode('ascii'))


def to_compressed_rle(segm: Union[RLE, Sequence], height: int,
                      width: int) -> RLE:
    """Convert any COCO segmentation to a compressed RLE with ``str`` counts.

    Accepts polygons (list of flat ``[x0, y0, x1, y1, ...]`` lists),
    uncompressed RLE (``counts`` is a list of ints) and compressed RLE
    (``counts`` is ``str`` or ``bytes``).

    Args:
        segm (dict | list): COCO segmentation.
        height (int): Image height (used for polygons and uncompressed RLE).
        width (int): Image width.

    Returns:
        dict: ``{'size': [h, w], 'counts': str}``.

    Raises:
        TypeError: If ``segm`` is none of the COCO formats.
    """
    if isinstance(segm, (list, tuple)):
        rles = mask_utils.frPyObjects([list(map(float, p)) for p in segm],
                                      height, width)
        rle = mask_utils.merge(rles)
    elif isinstance(segm, dict) and isinstance(segm.get('counts'), list):
        h, w = segm['size']
        rle = mask_utils.frPyObjects(segm, int(h), int(w))
    elif isinstance(segm, dict) and isinstance(segm.get('counts'),
                                               (str, bytes)):
        counts = segm['counts']
        if isinstance(counts, bytes):
            counts = counts.decode('ascii')
        return dict(size=[int(s) for s in segm['size']], counts=counts)
    else:
        raise TypeError('segmentation must be a polygon list or a COCO RLE '
                        f'dict, got {type(segm).__name__}')
    return dict(size=[int(s) for s in rle['size']],
                counts=rle['counts'].decode('ascii'))


def decode_rles(rles: Sequence[RLE], height: Optional[int] = None,
                width: Optional[int] = None) -> np.ndarray:
    """Decode compressed RLEs into a ``uint8`` array ``[N, H, W]``.

    Args:
        rles (Sequence[dict]): Compressed RLEs (``str`` or ``bytes`` counts).
        height (int, optional): Expected height; also gives the shape of the
            empty result when ``rles`` is empty.
        width (int, optional): Expected width.

    Returns:
        np.ndarray: ``uint8`` masks ``[N, H, W]`` (C-contiguous).

    Raises:
        ValueError: If an RLE's size differs from ``(height, width)``.
    """
    if len(rles) == 0:
        if height is None or width is None:
            raise ValueError('height and width are needed to decode 0 RLEs')
        return np.zeros((0, height, width), dtype=np.uint8)
    for rle in rles:
        size = [int(s) for s in rle['size']]
        if height is not None and size != [height, width]:
            raise ValueError(f'RLE size {size} differs from the image size '
                             f'{[height, width]}')
    objs = [dict(size=list(r['size']), counts=r['counts'].encode('ascii')
                 if isinstance(r['counts'], str) else r['counts'])
            for r in rles]
    masks = mask_utils.decode(objs)  # [H, W, N], Fortran order
    return np.ascontiguousarray(masks.transpose(2, 0, 1))


def rle_area(rle: RLE) -> int:
    """Foreground pixel count of a compressed RLE."""
    obj = dict(size=list(rle['size']), counts=rle['counts'].encode('ascii')
               if isinstance(rle['counts'], str) else rle['counts'])
    return int(mask_utils.area(obj))


def mask_interior_point(mask: np.ndarray) -> List[float]:
    """The pixel farthest from the mask boundary, as ``[x, y]``.

    Pixels outside the image count as background, so the point is the
    mask-centre point used by the EdgeSAM prompt protocol.

    Args:
        mask (np.ndarray): Non-empty binary mask ``[H, W]``.

    Returns:
        list[float]: ``[x, y]`` pixel coordinates of the point.
    """
    import cv2
    padded = np.pad(mask.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return [float(x), float(y)]


class SkipCounter:
    """Count skipped items per reason and log a single summary.

    Args:
        name (str): What is being loaded (used in the log message).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter = Counter()
        self.examples: Dict[str, str] = {}

    def add(self, reason: str, num: int = 1,
            example: Optional[str] = None) -> None:
        """Record ``num`` skipped items for ``reason``.

        Args:
            reason (str): Short reason key, e.g. ``'missing_json'``.
            num (int): How many items. Defaults to 1.
            example (str, optional): One offending file, kept for the log.
        """
        if num <= 0:
            return
        self.counts[reason] += num
        if example is not None:
            self.examples.setdefault(reason, example)

    def update(self, other: Iterable) -> None:
        """Merge the counts of another :class:`SkipCounter` or a mapping."""
        counts = other.counts if isinstance(other, SkipCounter) else other
        self.counts.update(dict(counts))

    def as_dict(self) -> Dict[str, int]:
        """The counts as a plain dict (only non-zero reasons)."""
        return {k: int(v) for k, v in sorted(self.counts.items()) if v}

    def summary(self) -> str:
        """One line, e.g. ``'missing_json=2 (e.g. a.jpg), no_instances=1'``."""
        parts = []
        for reason, num in sorted(self.counts.items()):
            example = self.examples.get(reason)
            suffix = f' (e.g. {example})' if example else ''
            parts.append(f'{reason}={num}{suffix}')
        return ', '.join(parts)

    def log(self, logger: Optional[MMLogger] = None) -> None:
        """Log the summary once as a warning (nothing if nothing skipped)."""
        if not self.counts:
            return
        print_log(f'{self.name}: skipped {self.summary()}',
                  logger=logger or 'current', level=30)
