# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/cache_teacher_features.py on the bundled SA-1B samples with the tiny
SAM3 teacher: round trip, kill + resume, two ranks, CLI."""
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from esam3.datasets.cached_feature_dataset import CachedTeacherFeatureDataset
from esam3.datasets.feature_cache import (ChecksumError, FeatureCache,
                                          FeatureCacheError,
                                          merge_rank_indices)
from esam3.registry import MODELS
from esam3.utils.setup_env import register_all_modules

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
N_IMAGES = 6  # data/samples/sa1b train split


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'cache_teacher_features',
        osp.join(ROOT, 'tools', 'cache_teacher_features.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


@pytest.fixture(scope='module')
def cfg_path(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('cfg') / 'cache_tiny.py'
    base = osp.join(ROOT, 'configs', '_base_')
    # the tiny SA-1B data with the tiny teacher, written as the Runner dumps
    # a resolved config (new-style configs cannot be inherited from a file
    # outside the repository)
    cfg = Config.fromfile(osp.join(base, 'datasets', 'sa1b_tiny.py'))
    cfg.teacher = Config.fromfile(osp.join(base, 'models',
                                           'sam3_tiny.py')).teacher_cfg
    cfg.train_dataloader.dataset.data_root = f'{ROOT}/data/samples/sa1b/'
    cfg.dump(str(path))
    return str(path)


@pytest.fixture(scope='module')
def parts(cfg_path):
    register_all_modules()
    cfg = Config.fromfile(cfg_path)
    torch.manual_seed(0)
    teacher = MODELS.build(tool.teacher_config(cfg))
    return (tool.build_cache_dataset(cfg), teacher,
            tool.build_preprocessor(cfg))


def _run(parts, out, **kwargs):
    dataset, teacher, pre = parts
    kwargs.setdefault('shard_size', 4)
    return tool.cache_rank(dataset, teacher, pre, str(out), **kwargs)


def test_round_trip_equals_teacher(parts, tmp_path):
    dataset, teacher, pre = parts
    assert len(dataset) == N_IMAGES
    index = _run(parts, tmp_path, shard_size=4, batch_size=2)
    assert index['complete'] and len(index['shards']) == 2
    merge_rank_indices(str(tmp_path))
    cache = FeatureCache(str(tmp_path), verify=True)
    assert cache.feature_shape == [32, 16, 16]
    for i in (0, 5):
        sample = dataset[i]
        meta = sample['data_samples'].metainfo
        inputs = pre(pseudo_collate([sample]), False)['inputs']
        ref = teacher.encode_trunk(inputs)[0]
        got = torch.from_numpy(np.array(cache.get(meta['img_id'])))
        assert got.dtype == torch.float16
        torch.testing.assert_close(got.float(), ref, atol=2e-3, rtol=1e-3)
        aug = cache.aug(meta['img_id'])
        assert aug['img_shape'] == list(meta['img_shape'])
        assert aug['scale_factor'] == list(meta['scale_factor'])
        assert aug['flip'] is False
    # the wrapper attaches exactly these features by image id
    wrapped = CachedTeacherFeatureDataset(dataset, str(tmp_path))
    ds = wrapped[3]['data_samples']
    torch.testing.assert_close(
        ds.teacher_trunk,
        torch.from_numpy(np.array(cache.get(ds.metainfo['img_id']))))


class _Killed(Exception):
    pass


def _kill_after_first(k: int) -> None:
    if k == 0:
        raise _Killed


def test_kill_then_resume(parts, tmp_path):
    with pytest.raises(_Killed):
        _run(parts, tmp_path, shard_size=2, after_shard=_kill_after_first)
    shard_dir = tmp_path / 'shards'
    assert sorted(os.listdir(shard_dir)) == ['rank000-00000.npy']
    # a kill during the next shard's write leaves a truncated temp file
    (shard_dir / 'rank000-00001.npy.tmp').write_bytes(b'\x93NUMPY\x01')
    with pytest.raises(FeatureCacheError, match='incomplete'):
        merge_rank_indices(str(tmp_path))
    with pytest.raises(FileExistsError, match='--resume'):
        _run(parts, tmp_path, shard_size=2)

    first = (shard_dir / 'rank000-00000.npy').stat().st_mtime_ns
    calls = []
    index = _run(
        parts, tmp_path, shard_size=2, resume=True, after_shard=calls.append)
    assert calls == [1, 2]  # verified shard 0 kept, the rest computed
    assert (shard_dir / 'rank000-00000.npy').stat().st_mtime_ns == first
    assert not any(n.endswith('.tmp') for n in os.listdir(shard_dir))
    assert index['complete'] and len(index['entries']) == N_IMAGES
    merge_rank_indices(str(tmp_path))
    good = FeatureCache(str(tmp_path), verify=True)
    assert good.verify_all() == []
    ref = {k: np.array(good.get(k)) for k in good.keys()}

    # corrupt one byte of shard 1: reads with verification fail, and a
    # resumed run rejects and recomputes that shard only
    shard = shard_dir / 'rank000-00001.npy'
    data = bytearray(shard.read_bytes())
    data[-5] ^= 0x40
    shard.write_bytes(bytes(data))
    bad = FeatureCache(str(tmp_path), verify=True)
    assert len(bad.verify_all()) == 1
    with pytest.raises(ChecksumError):
        bad.get(bad.verify_all()[0])
    calls.clear()
    _run(parts, tmp_path, shard_size=2, resume=True, after_shard=calls.append)
    assert calls == [1]
    merge_rank_indices(str(tmp_path))
    fixed = FeatureCache(str(tmp_path), verify=True)
    assert fixed.verify_all() == []
    for k, v in ref.items():
        np.testing.assert_array_equal(np.array(fixed.get(k)), v)


def test_two_ranks_cover_all_ids_once(parts, tmp_path):
    dataset = parts[0]
    ids = [str(dataset.get_data_info(i)['img_id']) for i in range(N_IMAGES)]
    r0 = _run(parts, tmp_path, rank=0, world_size=2, shard_size=2)
    r1 = _run(parts, tmp_path, rank=1, world_size=2, shard_size=2)
    assert sorted(r0['entries']) == sorted(ids[0::2])
    assert sorted(r1['entries']) == sorted(ids[1::2])
    assert not set(r0['entries']) & set(r1['entries'])
    merged = merge_rank_indices(str(tmp_path))
    assert sorted(merged['entries']) == sorted(ids)
    assert {e['shard'][:7]
            for e in merged['entries'].values()} == {'rank000', 'rank001'}
    assert FeatureCache(str(tmp_path), verify=True).verify_all() == []


def test_cli_and_pipeline_checks(cfg_path, tmp_path):
    out = str(tmp_path / 'cache')
    merged = tool.main(
        [cfg_path, '--out', out, '--shard-size', '4', '--device', 'cpu'])
    assert len(merged['entries']) == N_IMAGES
    assert merged['meta']['teacher']['type'] == 'Sam3Teacher'
    with pytest.raises(FileExistsError):
        tool.main(
            [cfg_path, '--out', out, '--device', 'cpu', '--shard-size', '4'])
    again = tool.main([
        cfg_path, '--out', out, '--resume', '--device', 'cpu', '--shard-size',
        '4'
    ])
    assert again['entries'] == merged['entries']  # nothing recomputed

    cfg = Config.fromfile(cfg_path)
    cfg.cache_pipeline = cfg.train_pipeline
    with pytest.raises(ValueError, match='RandomResize'):
        tool.cache_pipeline(cfg)
    assert tool.teacher_config(cfg)['type'] == 'Sam3Teacher'  # cfg.teacher
    cfg.model = dict(teacher=dict(type='Sam2Teacher'))  # model.teacher wins
    assert tool.teacher_config(cfg)['type'] == 'Sam2Teacher'
    cfg.model, cfg.teacher = dict(), None
    with pytest.raises(KeyError, match='teacher'):
        tool.teacher_config(cfg)


def test_benchmark_cache_smoke(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'benchmark_cache',
        osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_cache.py'))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = bench.main([
        '--tiny-images', '4', '--real-images', '2', '--repeats', '1', '--dir',
        str(tmp_path), '--json',
        str(tmp_path / 'r.json')
    ])
    real = res['real_size_cache']
    assert real['feature_shape'] == [1024, 72, 72]
    assert 1024 * 72 * 72 * 2 < real['bytes_per_image'] < 1024 * 72 * 72 * 2.01
    assert res['tiny']['read']['images_per_s'] > 0
    assert res['tiny']['recompute_ms_per_image'] > 0
    assert 'real_trunk' not in res and osp.exists(tmp_path / 'r.json')
