# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Feature cache writer/reader and the CachedTeacherFeatureDataset wrapper."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample

from esam3.datasets.cached_feature_dataset import (CachedTeacherFeatureDataset,
                                                   CacheMismatchError)
from esam3.datasets.feature_cache import (ChecksumError, FeatureCache,
                                          FeatureCacheError,
                                          FeatureCacheWriter,
                                          merge_rank_indices)
from esam3.registry import DATASETS

SHAPE = (8, 4, 4)


def _aug(flip: bool = False) -> dict:
    return dict(
        img_shape=[20, 16],
        ori_shape=[40, 32],
        pad_shape=[20, 20],
        scale_factor=[0.5, 0.5],
        flip=flip,
        flip_direction=None)


def _write(out_dir, keys, shard_size=2, rank=0, world_size=1, seed=0):
    rng = np.random.default_rng(seed)
    feats = rng.standard_normal((len(keys), ) + SHAPE).astype(np.float32)
    writer = FeatureCacheWriter(
        str(out_dir), rank, world_size, shard_size, num_items=len(keys))
    for k in range(0, len(keys), shard_size):
        writer.write_shard(k // shard_size, keys[k:k + shard_size],
                           feats[k:k + shard_size],
                           [_aug() for _ in keys[k:k + shard_size]])
    writer.finish()
    return dict(zip(keys, feats))


@pytest.fixture
def cache_dir(tmp_path):
    feats = _write(tmp_path, ['1', '2', '3', '7', '9'])
    merge_rank_indices(str(tmp_path))
    return tmp_path, feats


def test_round_trip_memmap(cache_dir):
    path, feats = cache_dir
    cache = FeatureCache(str(path), verify=True)
    assert len(cache) == 5 and cache.feature_shape == list(SHAPE)
    assert sorted(os.listdir(path / 'shards')) == [
        'rank000-00000.npy', 'rank000-00001.npy', 'rank000-00002.npy'
    ]
    for key, ref in feats.items():
        got = cache.get(int(key))  # ids may be ints
        assert got.dtype == np.float16 and got.shape == SHAPE
        np.testing.assert_array_equal(got, ref.astype(np.float16))
        assert isinstance(got.base, np.memmap) or isinstance(got, np.memmap)
    assert cache.aug(3) == _aug()
    assert 7 in cache and 4 not in cache
    assert cache.verify_all() == []


def test_missing_key_names_id_and_dir(cache_dir):
    path, _ = cache_dir
    cache = FeatureCache(str(path))
    with pytest.raises(KeyError, match=f"'42'.*{path}"):
        cache.get(42)


def test_corrupt_byte_fails_checksum(cache_dir):
    path, _ = cache_dir
    shard = path / 'shards' / 'rank000-00001.npy'
    data = bytearray(shard.read_bytes())
    data[-3] ^= 0xFF  # last item of shard 1 = key '7'
    shard.write_bytes(bytes(data))
    cache = FeatureCache(str(path))
    cache.get('7')  # no verification requested: bytes come back as stored
    with pytest.raises(ChecksumError, match=r"'7'.*rank000-00001\.npy"):
        cache.get('7', verify=True)
    assert FeatureCache(str(path), verify=True).verify_all() == ['7']


def test_corrupt_or_missing_index(tmp_path, cache_dir):
    path, _ = cache_dir
    with pytest.raises(FileNotFoundError, match='index.json'):
        FeatureCache(str(tmp_path / 'nowhere'))
    (path / 'index.json').write_text('{"format": "esam3-teacher-fea')
    with pytest.raises(FeatureCacheError, match=r'corrupt.*index\.json'):
        FeatureCache(str(path))
    (path / 'index.json').write_text(json.dumps({'format': 'other'}))
    with pytest.raises(FeatureCacheError, match='index.json'):
        FeatureCache(str(path))
    os.remove(path / 'index.json')
    with pytest.raises(FileNotFoundError, match='--resume'):
        FeatureCache(str(path))  # rank index left, merge never ran


def test_writer_refuses_overwrite_and_duplicates(tmp_path):
    _write(tmp_path, ['a', 'b'])
    with pytest.raises(FileExistsError, match='--resume'):
        FeatureCacheWriter(str(tmp_path), num_items=2)
    with pytest.raises(ValueError, match='shard_size'):
        FeatureCacheWriter(
            str(tmp_path), num_items=2, shard_size=4, resume=True)
    writer = FeatureCacheWriter(str(tmp_path / 'x'), num_items=2)
    with pytest.raises(ValueError, match="duplicate image key 'a'"):
        writer.write_shard(0, ['a', 'a'], np.zeros((2, ) + SHAPE),
                           [_aug(), _aug()])


def test_merge_two_ranks(tmp_path):
    keys = [str(i) for i in range(7)]
    _write(tmp_path, keys[0::2], rank=0, world_size=2)
    with pytest.raises(FeatureCacheError, match='rank 1 index missing'):
        merge_rank_indices(str(tmp_path))
    _write(tmp_path, keys[1::2], rank=1, world_size=2, seed=1)
    merged = merge_rank_indices(str(tmp_path))
    assert sorted(merged['entries'], key=int) == keys
    cache = FeatureCache(str(tmp_path), verify=True)
    assert cache.verify_all() == []
    assert cache.entry('3')['shard'].startswith('rank001-')


class _ToyDataset:
    """Packed samples with the metainfo esam3 pipelines produce."""

    def __init__(self, ids, flip=False, img_shape=(20, 16)):
        self.ids, self.flip, self.img_shape = ids, flip, img_shape

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, idx):
        ds = DetDataSample(
            metainfo=dict(
                img_id=self.ids[idx], img_shape=self.img_shape,
                flip=self.flip))
        return dict(
            inputs=torch.zeros(3, 20, 20, dtype=torch.uint8), data_samples=ds)


def test_dataset_wrapper_attaches_by_id(cache_dir):
    path, feats = cache_dir
    ids = [9, 1, 7]
    wrapped = CachedTeacherFeatureDataset(
        _ToyDataset(ids), str(path), verify=True)
    assert len(wrapped) == 3
    for i, img_id in enumerate(ids):
        ds = wrapped[i]['data_samples']
        assert ds.teacher_trunk.dtype == torch.float16
        assert tuple(ds.teacher_trunk.shape) == SHAPE
        torch.testing.assert_close(ds.teacher_trunk,
                                   torch.from_numpy(feats[str(img_id)]).half())
        assert ds.teacher_aug['img_shape'] == [20, 16]
        assert getattr(ds, 'teacher_trunk', None) is not None  # distiller


def test_dataset_wrapper_rejects_other_geometry(cache_dir):
    path, _ = cache_dir
    flipped = CachedTeacherFeatureDataset(
        _ToyDataset([1], flip=True), str(path))
    with pytest.raises(CacheMismatchError, match='flip'):
        flipped[0]
    resized = CachedTeacherFeatureDataset(
        _ToyDataset([1], img_shape=(20, 20)), str(path))
    with pytest.raises(CacheMismatchError, match=r'img_shape \(20, 20\)'):
        resized[0]
    unknown = CachedTeacherFeatureDataset(_ToyDataset([5]), str(path))
    with pytest.raises(KeyError, match="'5'"):
        unknown[0]
    assert DATASETS.get('CachedTeacherFeatureDataset') is \
        CachedTeacherFeatureDataset
    assert osp.isdir(path)
