# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Dataset wrapper that attaches cached teacher trunk features."""
import copy
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from esam3.registry import DATASETS
from .feature_cache import FeatureCache

FIELD = 'teacher_trunk'
AUG_FIELD = 'teacher_aug'


class CacheMismatchError(ValueError):
    """A sample's geometry differs from the one its features were cached with
    (the training pipeline is not the cached test-time geometry)."""


def _as_tuple(value: Any) -> Optional[tuple]:
    if value is None:
        return None
    return tuple(int(v) for v in value)


@DATASETS.register_module()
class CachedTeacherFeatureDataset:
    """Wrap a dataset and add cached teacher features to every sample.

    Each ``data_samples`` (``DetDataSample``) gets the data field
    ``teacher_trunk``: a float16 tensor ``[C, h, w]`` (read with
    ``data_sample.teacher_trunk``; the Stage 1 distiller uses it instead of
    running the teacher) and the metainfo ``teacher_aug`` (the geometric
    parameters of the cached features). Features are looked up by
    ``str(metainfo['img_id'])``.

    Cached features are only valid for the geometry they were computed on:
    the cache is built with the deterministic test-time pipeline (SAM3's
    square resize to ``S x S``, or a letterbox), so the wrapped dataset must
    produce the same ``img_shape`` and no flip. Photometric augmentation is
    fine. A mismatch raises :class:`CacheMismatchError` (disable with
    ``check_aug=False`` only if you know better).

    Args:
        dataset: the dataset (config dict or object).
        cache_dir: directory written by ``tools/cache_teacher_features.py``.
        verify: check CRC-32 of every feature read.
        check_aug: compare ``img_shape``/``flip`` with the cached ones.
        lazy_init: passed through to a dataset built from a config.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 cache_dir: str,
                 verify: bool = False,
                 check_aug: bool = True,
                 lazy_init: bool = False) -> None:
        if isinstance(dataset, dict):
            dataset = copy.deepcopy(dataset)
            if lazy_init:
                dataset['lazy_init'] = True
            dataset = DATASETS.build(dataset)
        self.dataset = dataset
        self.cache = FeatureCache(cache_dir, verify=verify)
        self.check_aug = check_aug

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(getattr(self.dataset, 'metainfo', {}))

    def full_init(self) -> None:
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def __len__(self) -> int:
        return len(self.dataset)

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(idx)

    def _check(self, key: str, meta: dict, aug: dict) -> None:
        problems = []
        if 'img_shape' in meta and aug.get('img_shape') is not None and \
                _as_tuple(meta['img_shape'][:2]) != \
                _as_tuple(aug['img_shape'][:2]):
            problems.append(f'img_shape {tuple(meta["img_shape"])} vs cached '
                            f'{tuple(aug["img_shape"])}')
        if bool(meta.get('flip', False)) != bool(aug.get('flip', False)):
            problems.append(f'flip {meta.get("flip")} vs cached '
                            f'{aug.get("flip")}')
        if problems:
            raise CacheMismatchError(
                f'image {key}: sample geometry differs from the cached '
                f'teacher features ({"; ".join(problems)}). Cached mode needs '
                'the test-time geometric pipeline (resize, no flip / '
                'random resize / crop); photometric augmentation is fine.')

    def _attach(self, data_sample) -> None:
        meta = data_sample.metainfo
        if 'img_id' not in meta:
            raise KeyError('CachedTeacherFeatureDataset needs metainfo '
                           '"img_id" (add it to PackDetInputs meta_keys)')
        key = str(meta['img_id'])
        aug = self.cache.aug(key)
        if self.check_aug:
            self._check(key, meta, aug)
        feat = torch.from_numpy(np.array(self.cache.get(key)))
        data_sample.set_field(feat, FIELD)
        data_sample.set_metainfo({AUG_FIELD: aug})

    def __getitem__(self, idx: int) -> dict:
        sample = self.dataset[idx]
        samples = sample['data_samples']
        if isinstance(samples, Sequence):
            for data_sample in samples:
                self._attach(data_sample)
        else:
            self._attach(samples)
        return sample
