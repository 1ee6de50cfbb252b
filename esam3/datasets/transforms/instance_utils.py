# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Keep per-instance keys of a pipeline ``results`` dict in sync.

mmdet's transforms filter the standard per-instance keys (``gt_bboxes``,
``gt_bboxes_labels``, ``gt_masks``, ``gt_ignore_flags``, ``gt_instances_ids``)
but know nothing about esam3's extras (``gt_rles``, ``gt_point_coords``,
``gt_names``), which describe the instances at the ORIGINAL resolution and
end up in the packed metainfo. :class:`LoadRLEAnnotations` numbers the
instances in ``gt_instances_ids`` (mmdet's ``RandomCrop`` filters that key)
and records in ``extra_instance_ids`` which instance every extra entry
belongs to; :func:`sync_instance_extras` re-aligns the extras with whatever
instances are left.
"""
from typing import Sequence, Union

import numpy as np

INSTANCE_KEYS = ('gt_bboxes', 'gt_bboxes_labels', 'gt_masks',
                 'gt_ignore_flags', 'gt_instances_ids')
EXTRA_KEYS = ('gt_rles', 'gt_point_coords', 'gt_names')
EXTRA_IDS_KEY = 'extra_instance_ids'


def num_instances(results: dict) -> int:
    """Number of instances currently in ``results``."""
    for key in ('gt_bboxes', 'gt_masks', 'gt_bboxes_labels'):
        if results.get(key) is not None:
            return len(results[key])
    return 0


def _take(value, index: np.ndarray):
    if isinstance(value, list):
        return [value[int(i)] for i in index]
    return value[index]


def sync_instance_extras(results: dict) -> dict:
    """Re-align the extras with ``gt_instances_ids`` (in place).

    Args:
        results (dict): Pipeline results.

    Returns:
        dict: The same ``results``.

    Raises:
        KeyError: If an instance id has no extra entry (the extras were
            dropped or reordered by something other than this module).
    """
    if EXTRA_IDS_KEY not in results or 'gt_instances_ids' not in results:
        return results
    ids = np.asarray(results['gt_instances_ids']).reshape(-1)
    old = np.asarray(results[EXTRA_IDS_KEY]).reshape(-1)
    if ids.shape == old.shape and (ids == old).all():
        return results
    pos = {int(i): p for p, i in enumerate(old)}
    index = np.array([pos[int(i)] for i in ids], dtype=np.int64)
    for key in EXTRA_KEYS:
        if key in results:
            results[key] = _take(results[key], index)
    results[EXTRA_IDS_KEY] = ids.copy()
    return results


def select_instances(results: dict, keep: Union[np.ndarray,
                                                Sequence[int]]) -> dict:
    """Keep only the instances ``keep`` (bool mask or indices), in place.

    Filters every mmdet per-instance key and the esam3 extras.

    Args:
        results (dict): Pipeline results.
        keep (np.ndarray | Sequence[int]): Boolean mask over the current
            instances or integer indices (order is preserved as given).

    Returns:
        dict: The same ``results``.
    """
    sync_instance_extras(results)
    keep = np.asarray(keep)
    index = np.flatnonzero(keep) if keep.dtype == bool else \
        keep.astype(np.int64).reshape(-1)
    for key in INSTANCE_KEYS:
        if results.get(key) is not None:
            results[key] = results[key][index]
    if EXTRA_IDS_KEY in results:
        if 'gt_instances_ids' in results:
            sync_instance_extras(results)
        else:
            for key in EXTRA_KEYS:
                if key in results:
                    results[key] = _take(results[key], index)
    return results
