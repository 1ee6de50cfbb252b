# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Helpers shared by the image datasets: COCO RLE handling and skip counting.

All RLEs handled by esam3 are *compressed* COCO RLEs whose ``counts`` is a
``str`` (JSON friendly), e.g. ``{'size': [h, w], 'counts': '...'}``.
"""
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import pycocotools.mask as mask_utils
from mmengine.logging import MMLogger, print_log

RLE = Dict[str, Union[List[int], str]]


class UnreadableImageError(OSError):
    """An image file exists (or is listed) but cannot be decoded."""


class InvalidRLEError(ValueError):
    """An RLE's ``counts`` do not describe exactly ``h * w`` pixels."""


def _compressed_counts(counts: str) -> np.ndarray:
    """Run lengths of a COCO compressed RLE string (int64 array).

    pycocotools has no Python accessor for the run lengths, and its decoder
    trusts them (short ``counts`` leave pixels uninitialised, bad characters
    surface as a bare ``Invalid RLE mask representation`` with no file or
    id). So this mirrors ``rleFrString`` of the COCO API, vectorised: each
    character is a 6-bit group ``ord(c) - 48``; the 5 low bits are the value
    little-endian, bit 5 says another group follows, bit 4 of a value's last
    group makes it negative; from the 4th count on (index > 2) a value is a
    delta to the count two places before.

    Raises:
        InvalidRLEError: a character outside ``'0'..'o'``, a value cut off
            at the end of the string or longer than 12 groups.
    """
    groups = np.frombuffer(counts.encode('latin-1'), np.uint8).astype(
        np.int64) - 48
    if groups.size == 0:
        return np.zeros(0, np.int64)
    bad = np.flatnonzero((groups < 0) | (groups > 63))
    if bad.size:
        raise InvalidRLEError(f'character {counts[bad[0]]!r} at {bad[0]} is '
                              'not an RLE digit')
    last = (groups & 0x20) == 0
    if not last[-1]:
        raise InvalidRLEError('counts end in the middle of a value')
    ends = np.flatnonzero(last)
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    if lengths.max() > 12:
        raise InvalidRLEError('counts hold a value of more than 12 digits')
    shift = 5 * (np.arange(groups.size) - np.repeat(starts, lengths))
    values = np.add.reduceat((groups & 0x1f) << shift, starts)
    negative = (groups[ends] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * lengths[negative])
    for parity in (0, 1):  # undo the deltas: counts[m] += counts[m - 2]
        first = 2 if parity == 0 else 1
        values[first::2] = np.cumsum(values[first::2])
    return values


def check_rle(rle: Any) -> None:
    """Check that an RLE (compressed or not) covers exactly ``h * w`` pixels
    with non-negative runs.

    Args:
        rle: ``{'size': [h, w], 'counts': str | bytes | list[int]}``.

    Raises:
        InvalidRLEError: what is wrong (the caller adds file and id).
    """
    if not isinstance(rle, dict) or 'size' not in rle or 'counts' not in rle:
        raise InvalidRLEError('an RLE needs "size" and "counts"')
    size = rle['size']
    if not (isinstance(size, (list, tuple)) and len(size) == 2
            and all(isinstance(v, int) and v >= 0 for v in size)):
        raise InvalidRLEError(f'size must be [h, w] integers, got {size!r}')
    counts = rle['counts']
    if isinstance(counts, bytes):
        try:
            counts = counts.decode('ascii')
        except UnicodeDecodeError as err:
            raise InvalidRLEError('counts are not ASCII') from err
    if isinstance(counts, str):
        runs = _compressed_counts(counts)
    elif isinstance(counts,
                    (list, tuple)) and all(isinstance(v, int) for v in counts):
        runs = np.asarray(counts, np.int64)
    else:
        raise InvalidRLEError('counts must be a string or a list of integers')
    if (runs < 0).any():
        raise InvalidRLEError('counts hold a negative run length')
    total, expected = int(runs.sum()), size[0] * size[1]
    if total != expected:
        raise InvalidRLEError(f'counts cover {total} pixels, size {size} has '
                              f'{expected}')


class UnreadableImageSkipper:
    """Skip training samples whose image cannot be decoded, counted.

    Used by the image datasets around their pipeline call: an
    :class:`UnreadableImageError` (raised by esam3's ``LoadImageFromFile``)
    makes the sample ``None`` in training, which mmengine's ``BaseDataset``
    replaces by another random sample; each bad file is logged once, with
    the running total. In test mode nothing may be skipped, so the error
    (naming the file) propagates.

    Args:
        name: the dataset, named in the log.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.files: set = set()
        self.count = 0

    def run(self, pipeline, info: dict, test_mode: bool) -> Any:
        """``pipeline(info)``, or None for an unreadable image in training."""
        try:
            return pipeline(info)
        except UnreadableImageError as err:
            if test_mode:
                raise
            self.count += 1
            if err.filename not in self.files:
                self.files.add(err.filename)
                print_log(
                    f'{self.name}: skipped unreadable image {err.filename} '
                    f'({err.strerror}); unreadable_image={len(self.files)} '
                    f'file(s), {self.count} draw(s) so far',
                    logger='current',
                    level=30)
            return None


def encode_mask(mask: np.ndarray) -> RLE:
    """Encode one binary mask ``[H, W]`` as a compressed RLE (``str`` counts).

    Args:
        mask (np.ndarray): Binary mask of shape ``(H, W)``.

    Returns:
        dict: ``{'size': [H, W], 'counts': str}``.
    """
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(
        size=[int(s) for s in rle['size']],
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
    elif isinstance(segm, dict) and isinstance(
            segm.get('counts'), (str, bytes)):
        counts = segm['counts']
        if isinstance(counts, bytes):
            counts = counts.decode('ascii')
        return dict(size=[int(s) for s in segm['size']], counts=counts)
    else:
        raise TypeError('segmentation must be a polygon list or a COCO RLE '
                        f'dict, got {type(segm).__name__}')
    return dict(
        size=[int(s) for s in rle['size']],
        counts=rle['counts'].decode('ascii'))


def decode_rles(rles: Sequence[RLE],
                height: Optional[int] = None,
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
    objs = [
        dict(
            size=list(r['size']),
            counts=r['counts'].encode('ascii')
            if isinstance(r['counts'], str) else r['counts']) for r in rles
    ]
    masks = mask_utils.decode(objs)  # [H, W, N], Fortran order
    return np.ascontiguousarray(masks.transpose(2, 0, 1))


def rle_area(rle: RLE) -> int:
    """Foreground pixel count of a compressed RLE."""
    obj = dict(
        size=list(rle['size']),
        counts=rle['counts'].encode('ascii')
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

    def add(self,
            reason: str,
            num: int = 1,
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
        print_log(
            f'{self.name}: skipped {self.summary()}',
            logger=logger or 'current',
            level=30)
