# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Feature cache indices that name shards outside the cache folder.

A crafted or corrupt index must neither make ``--resume`` delete a file
outside ``DIR/shards`` nor make the reader load one. Checksum, missing-key
and corrupt-JSON cases that already held live in
``tests/test_datasets/test_feature_cache.py``.
"""
import json

import numpy as np
import pytest

from esam3.datasets.feature_cache import (FeatureCache, FeatureCacheError,
                                          FeatureCacheWriter,
                                          merge_rank_indices)

SHAPE = (2, 2, 2)
AUG = dict(img_shape=[4, 4], flip=False, flip_direction=None)


def _write(out_dir, keys=('1', '2', '3'), shard_size=2, finish=True):
    writer = FeatureCacheWriter(
        str(out_dir), shard_size=shard_size, num_items=len(keys))
    feats = np.ones((len(keys), ) + SHAPE, np.float32)
    for k in range(0, len(keys), shard_size):
        part = list(keys[k:k + shard_size])
        writer.write_shard(k // shard_size, part, feats[k:k + shard_size],
                           [dict(AUG) for _ in part])
    if finish:
        writer.finish()


def _rename_shard(index_path, old, new):
    index = json.loads(index_path.read_text())
    index['shards'][new] = index['shards'].pop(old)
    for entry in index['entries'].values():
        if entry['shard'] == old:
            entry['shard'] = new
    index_path.write_text(json.dumps(index))


@pytest.mark.parametrize('evil', [
    '../../victim.npy', '/ABS/victim.npy', '../index.rank000.json',
    'sub/rank000-00000.npy', 'rank000-00000.npy.tmp'
])
def test_resume_never_deletes_outside_the_cache(tmp_path, evil):
    cache = tmp_path / 'a' / 'b' / 'cache'
    _write(cache)
    victim = tmp_path / 'a' / 'victim.npy'  # = shards/../../victim.npy
    np.save(str(victim), np.zeros(3))
    evil = evil.replace('/ABS/victim.npy', str(victim))
    index_path = cache / 'index.rank000.json'
    _rename_shard(index_path, 'rank000-00000.npy', evil)
    with pytest.raises(FeatureCacheError) as info:
        FeatureCacheWriter(str(cache), shard_size=2, num_items=3, resume=True)
    assert str(index_path) in str(info.value)
    assert repr(evil) in str(info.value)
    assert victim.exists() and (cache / 'index.rank000.json').exists()
    assert (cache / 'shards' / 'rank000-00001.npy').exists()


def test_resume_rejects_another_ranks_shard_name(tmp_path):
    """A plain name of the wrong rank or number is corrupt too (resume would
    otherwise drop, i.e. delete, rank 1's shard)."""
    _write(tmp_path)
    index_path = tmp_path / 'index.rank000.json'
    _rename_shard(index_path, 'rank000-00000.npy', 'rank001-00000.npy')
    with pytest.raises(FeatureCacheError, match=r"'rank001-00000\.npy'"):
        FeatureCacheWriter(
            str(tmp_path), shard_size=2, num_items=3, resume=True)


@pytest.mark.parametrize('evil',
                         ['../../../etc/passwd', '/tmp/x.npy', '..\\x.npy', 5])
def test_reader_refuses_shard_paths(tmp_path, evil):
    _write(tmp_path)
    merge_rank_indices(str(tmp_path))
    index_path = tmp_path / 'index.json'
    index = json.loads(index_path.read_text())
    index['entries']['2']['shard'] = evil
    index_path.write_text(json.dumps(index))
    with pytest.raises(FeatureCacheError) as info:
        FeatureCache(str(tmp_path))
    msg = str(info.value)
    assert str(index_path) in msg and "entry '2'" in msg
    assert repr(evil) in msg


def test_merge_refuses_bad_rank_index(tmp_path):
    _write(tmp_path)
    _rename_shard(tmp_path / 'index.rank000.json', 'rank000-00001.npy',
                  '../x.npy')
    with pytest.raises(FeatureCacheError, match=r'index\.rank000\.json'):
        merge_rank_indices(str(tmp_path))
    assert not (tmp_path / 'index.json').exists()


def test_valid_resume_still_drops_only_bad_own_shard(tmp_path):
    """The legitimate path keeps working: a damaged shard of this rank is
    dropped (deleted) and recomputed, the good one kept."""
    _write(tmp_path, finish=False)
    shard = tmp_path / 'shards' / 'rank000-00001.npy'
    shard.write_bytes(b'garbage')
    writer = FeatureCacheWriter(
        str(tmp_path), shard_size=2, num_items=3, resume=True)
    assert writer.done_shards() == [0]
    assert not shard.exists()
    assert (tmp_path / 'shards' / 'rank000-00000.npy').exists()
