# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Helpers shared by the esam3 metrics (sample access, RLE, tables)."""
import re
from typing import Any, Dict, Iterable, List, Sequence

import numpy as np
import pycocotools.mask as mask_utils
import torch
from mmengine.logging import print_log
from terminaltables import AsciiTable

_MISSING = object()


def get_field(sample: Any, key: str, default: Any = _MISSING) -> Any:
    """Read ``key`` from a data sample given as dict or data element.

    mmengine's ``Evaluator`` hands metrics ``data_sample.to_dict()`` (data
    and metainfo fields merged); direct calls may pass the data element.

    Args:
        sample (dict | BaseDataElement | InstanceData): The sample.
        key (str): Field name.
        default: Returned when missing; if not given a KeyError is raised.

    Returns:
        The value.
    """
    if isinstance(sample, dict):
        if key in sample:
            return sample[key]
        meta = sample.get('metainfo')
        if isinstance(meta, dict) and key in meta:
            return meta[key]
    elif hasattr(sample, key):
        return getattr(sample, key)
    if default is _MISSING:
        raise KeyError(f'data sample has no field {key!r}')
    return default


def to_numpy(value: Any) -> np.ndarray:
    """Tensor / array / list -> numpy array (on CPU)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if hasattr(value, 'to_ndarray'):  # mmdet BitmapMasks
        return value.to_ndarray()
    return np.asarray(value)


def normalize_rle(rle: Dict) -> Dict:
    """Return a compressed COCO RLE (uncompressed ``counts`` lists are
    converted)."""
    if isinstance(rle.get('counts'), list):
        h, w = rle['size']
        return mask_utils.frPyObjects(rle, h, w)
    return rle


def decode_rles(rles: Sequence[Dict], shape: Sequence[int]) -> np.ndarray:
    """Decode COCO RLEs to a bool array ``[G, H, W]``.

    Args:
        rles (Sequence[dict]): ``{'size': [h, w], 'counts': ...}``.
        shape (Sequence[int]): ``(H, W)``, used when ``rles`` is empty and
            to check sizes.

    Returns:
        ndarray: ``[G, H, W]`` bool.
    """
    h, w = int(shape[0]), int(shape[1])
    if len(rles) == 0:
        return np.zeros((0, h, w), dtype=bool)
    masks = []
    for rle in rles:
        rle = normalize_rle(rle)
        if tuple(rle['size']) != (h, w):
            raise ValueError(f'RLE size {rle["size"]} != expected {(h, w)}')
        masks.append(mask_utils.decode(rle).astype(bool))
    return np.stack(masks)


def encode_masks(masks: np.ndarray) -> List[Dict]:
    """Encode bool ``[N, H, W]`` masks to compressed COCO RLEs."""
    return [
        mask_utils.encode(np.asfortranarray(m.astype(np.uint8))) for m in masks
    ]


def sort_modes(modes: Iterable[str]) -> List[str]:
    """Order prompt modes as box, point, point+1, point+2, ..., others."""

    def key(mode: str):
        if mode == 'box':
            return (0, 0, mode)
        if mode == 'point':
            return (1, 0, mode)
        m = re.fullmatch(r'point\+(\d+)', mode)
        if m:
            return (2, int(m.group(1)), mode)
        return (3, 0, mode)

    return sorted(set(modes), key=key)


def log_table(title: str, header: Sequence[str],
              rows: Sequence[Sequence[Any]]) -> str:
    """Format a terminaltables table and print it to the current logger.

    Returns:
        str: The table text.
    """
    table = AsciiTable(
        [list(header)] + [[str(c) for c in r] for r in rows], title=title)
    print_log('\n' + table.table, logger='current')
    return table.table
