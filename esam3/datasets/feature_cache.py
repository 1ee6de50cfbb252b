# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""On-disk cache of teacher trunk features (fp16, sharded, memory-mapped).

Layout of a cache directory (see ``docs/feature_cache.md``)::

    DIR/index.json                  merged index (written by rank 0)
    DIR/index.rank003.json          per-rank index (atomic, after each shard)
    DIR/shards/rank003-00012.npy    one .npy per shard: [n, C, h, w] float16

Every index entry maps an image key (``str(img_id)``) to its shard, its row
in the shard, shape, dtype, the CRC-32 of its fp16 bytes and the geometric
augmentation parameters the features were computed with. Shards are written
to a ``.tmp`` file, flushed, fsync'ed and renamed (``os.replace``), and the
rank index is rewritten atomically after each shard, so a killed run never
leaves a half-written shard that the index points at; ``resume`` re-verifies
the shards listed in the index by checksum and redoes the rest.
"""
import glob
import json
import os
import os.path as osp
import re
import zlib
from typing import Any, Dict, Iterable, List, Optional

import numpy as np
from mmengine.logging import MMLogger

__all__ = [
    'FeatureCache', 'FeatureCacheWriter', 'FeatureCacheError', 'ChecksumError',
    'merge_rank_indices', 'feature_crc32', 'INDEX_FILE'
]

FORMAT = 'esam3-teacher-feature-cache'
VERSION = 1
DTYPE = 'float16'
INDEX_FILE = 'index.json'
SHARD_DIR = 'shards'
# The only shard file names an index may hold: a plain file name inside
# ``shards/`` (no directory part, no ``..``, not absolute), so a crafted or
# corrupt index can never make the reader load, or ``--resume`` delete, a
# file outside the cache folder.
SHARD_NAME = re.compile(r'rank\d{3}-\d{5}\.npy')


class FeatureCacheError(RuntimeError):
    """A cache file is missing, corrupt or inconsistent."""


class ChecksumError(FeatureCacheError):
    """Stored bytes do not match the checksum in the index."""


def feature_crc32(array: np.ndarray) -> str:
    """CRC-32 (hex) of an array's raw bytes in C order."""
    data = np.ascontiguousarray(array)
    return f'{zlib.crc32(data.view(np.uint8).reshape(-1)) & 0xffffffff:08x}'


def rank_index_name(rank: int) -> str:
    return f'index.rank{rank:03d}.json'


def shard_name(rank: int, shard: int) -> str:
    return f'rank{rank:03d}-{shard:05d}.npy'


def _logger() -> MMLogger:
    return MMLogger.get_current_instance()


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_json(path: str, obj: Any) -> None:
    """Write JSON to ``path`` via a temp file + ``os.replace``."""
    tmp = f'{path}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(osp.dirname(path) or '.')


def load_index(path: str) -> dict:
    """Read and sanity-check an index file.

    Raises:
        FileNotFoundError: the file does not exist.
        FeatureCacheError: invalid JSON or not an esam3 cache index (the
            message names the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'feature cache index not found: {path}')
    try:
        with open(path) as f:
            index = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FeatureCacheError(
            f'corrupt feature cache index {path}: {err}') from err
    if not isinstance(index, dict) or index.get('format') != FORMAT:
        raise FeatureCacheError(
            f'corrupt feature cache index {path}: not an {FORMAT} file')
    if index.get('version') != VERSION:
        raise FeatureCacheError(f'{path}: unsupported cache version '
                                f'{index.get("version")} (expected {VERSION})')
    for field in ('entries', 'shards'):
        if not isinstance(index.get(field), dict):
            raise FeatureCacheError(
                f'corrupt feature cache index {path}: missing "{field}"')
    _check_shard_names(index, path)
    return index


def _check_shard_names(index: dict, path: str) -> None:
    """Every shard an index names must be a plain ``rankRRR-SSSSS.npy``.

    Raises:
        FeatureCacheError: names the index file, the offending shard name
            and where it appears (``shards`` or the entry's image key).
    """

    def check(name: Any, where: str) -> None:
        if not isinstance(name, str) or SHARD_NAME.fullmatch(name) is None:
            raise FeatureCacheError(
                f'corrupt feature cache index {path}: {where} names shard '
                f'{name!r}; only plain file names like '
                f'{shard_name(0, 0)!r} inside {SHARD_DIR}/ are allowed')

    for name, info in index['shards'].items():
        check(name, '"shards"')
        if not isinstance(info, dict):
            raise FeatureCacheError(f'corrupt feature cache index {path}: '
                                    f'shard {name!r} has no record')
    for key, entry in index['entries'].items():
        if not isinstance(entry, dict):
            raise FeatureCacheError(f'corrupt feature cache index {path}: '
                                    f'entry {key!r} is not a record')
        check(entry.get('shard'), f'entry {key!r}')


class FeatureCacheWriter:
    """Writes one rank's shards and index.

    Args:
        out_dir: cache directory (created).
        rank: this process' rank.
        world_size: number of ranks writing the cache.
        shard_size: images per shard.
        num_items: number of images this rank writes in total.
        resume: continue a previous run; without it an existing index of
            this rank is an error.
        meta: JSON-able description of the producer (teacher, pipeline).
    """

    def __init__(self,
                 out_dir: str,
                 rank: int = 0,
                 world_size: int = 1,
                 shard_size: int = 64,
                 num_items: int = 0,
                 resume: bool = False,
                 meta: Optional[dict] = None) -> None:
        if shard_size < 1:
            raise ValueError(f'shard_size must be >= 1, got {shard_size}')
        if not 0 <= rank < world_size:
            raise ValueError(f'rank {rank} not in [0, {world_size})')
        self.out_dir = out_dir
        self.shard_dir = osp.join(out_dir, SHARD_DIR)
        os.makedirs(self.shard_dir, exist_ok=True)
        self.rank, self.world_size = rank, world_size
        self.index_path = osp.join(out_dir, rank_index_name(rank))
        self._remove_temp_files()
        fresh = dict(
            format=FORMAT,
            version=VERSION,
            dtype=DTYPE,
            rank=rank,
            world_size=world_size,
            shard_size=shard_size,
            num_items=num_items,
            complete=False,
            feature_shape=None,
            meta=meta or {},
            shards={},
            entries={})
        if osp.exists(self.index_path):
            if not resume:
                raise FileExistsError(
                    f'{self.index_path} exists: pass --resume to continue '
                    'that run, or use an empty --out directory')
            self.index = load_index(self.index_path)
            for key in ('world_size', 'shard_size', 'num_items'):
                if self.index.get(key) != fresh[key]:
                    raise ValueError(
                        f'cannot resume {self.index_path}: {key} was '
                        f'{self.index.get(key)}, now {fresh[key]}')
            self._check_own_shards()
            self.index['complete'] = False
            self._verify_existing()
        else:
            self.index = fresh

    # ------------------------------------------------------------- resume
    def _remove_temp_files(self) -> None:
        prefix = osp.join(self.shard_dir, f'rank{self.rank:03d}-')
        for path in glob.glob(prefix + '*.tmp'):
            _logger().warning(f'removing partial shard {path}')
            os.remove(path)

    def _check_own_shards(self) -> None:
        """A rank index may only list this rank's shards, each under the name
        its number gives (``load_index`` already refused paths)."""
        for name, info in self.index['shards'].items():
            number = info.get('shard')
            if not isinstance(number, int) or \
                    name != shard_name(self.rank, number):
                raise FeatureCacheError(
                    f'corrupt feature cache index {self.index_path}: shard '
                    f'{name!r} (number {number!r}) is not a shard file of '
                    f'rank {self.rank}')

    def _drop_shard(self, name: str, reason: str) -> None:
        _logger().warning(f'feature cache: shard {name} rejected ({reason});'
                          ' it will be recomputed')
        self.index['shards'].pop(name, None)
        self.index['entries'] = {
            k: e
            for k, e in self.index['entries'].items() if e['shard'] != name
        }
        path = osp.join(self.shard_dir, name)
        if osp.exists(path):
            os.remove(path)

    def _verify_existing(self) -> None:
        """Keep only shards whose file exists and whose every entry's checksum
        matches."""
        by_shard: Dict[str, List[str]] = {}
        for key, entry in self.index['entries'].items():
            by_shard.setdefault(entry['shard'], []).append(key)
        for name in list(self.index['shards']):
            path = osp.join(self.shard_dir, name)
            keys = by_shard.get(name, [])
            try:
                data = np.load(path, mmap_mode='r')
            except (OSError, ValueError) as err:
                self._drop_shard(name, f'unreadable: {err}')
                continue
            count = self.index['shards'][name]['count']
            if data.shape[0] != count or len(keys) != count:
                self._drop_shard(name, 'wrong item count')
                continue
            bad = [
                k for k in keys
                if feature_crc32(data[self.index['entries'][k]['offset']]) !=
                self.index['entries'][k]['crc32']
            ]
            del data
            if bad:
                self._drop_shard(name, f'checksum mismatch for {bad[:3]}')

    def done_shards(self) -> List[int]:
        """Shard numbers already written and verified."""
        return sorted(s['shard'] for s in self.index['shards'].values())

    # -------------------------------------------------------------- write
    def write_shard(self, shard: int, keys: List[str], features: np.ndarray,
                    augs: List[dict]) -> str:
        """Write ``features [n, C, h, w]`` (cast to fp16) as shard number
        ``shard`` and record ``keys``/``augs``; returns the shard file."""
        if len(keys) != len(features) or len(augs) != len(keys):
            raise ValueError('keys, features and augs differ in length')
        entries = self.index['entries']
        for key in keys:
            if key in entries or keys.count(key) > 1:
                raise ValueError(f'duplicate image key {key!r} in the cache '
                                 '(image ids must be unique)')
        shape = list(features.shape[1:])
        if self.index['feature_shape'] is None:
            self.index['feature_shape'] = shape
        elif self.index['feature_shape'] != shape:
            raise ValueError(f'feature shape {shape} differs from '
                             f'{self.index["feature_shape"]}')
        name = shard_name(self.rank, shard)
        path = osp.join(self.shard_dir, name)
        tmp = path + '.tmp'
        out = np.lib.format.open_memmap(
            tmp, mode='w+', dtype=np.float16, shape=tuple(features.shape))
        out[...] = features
        out.flush()
        crcs = [feature_crc32(out[i]) for i in range(len(keys))]
        del out
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.shard_dir)
        self.index['shards'][name] = dict(shard=shard, count=len(keys))
        for i, (key, aug, crc) in enumerate(zip(keys, augs, crcs)):
            entries[key] = dict(
                shard=name,
                offset=i,
                shape=shape,
                dtype=DTYPE,
                crc32=crc,
                aug=aug)
        atomic_write_json(self.index_path, self.index)
        return path

    def finish(self) -> dict:
        """Mark this rank complete (all its items written)."""
        written = len(self.index['entries'])
        if written != self.index['num_items']:
            raise FeatureCacheError(f'rank {self.rank} wrote {written} of '
                                    f'{self.index["num_items"]} items')
        self.index['complete'] = True
        atomic_write_json(self.index_path, self.index)
        return self.index


def merge_rank_indices(out_dir: str, world_size: Optional[int] = None) -> dict:
    """Merge the per-rank indices into ``index.json`` (rank 0's job).

    Raises:
        FeatureCacheError: a rank is missing or incomplete, shapes differ or
            an image key appears in two ranks.
    """
    first = load_index(osp.join(out_dir, rank_index_name(0)))
    world_size = world_size or first['world_size']
    merged = dict(
        format=FORMAT,
        version=VERSION,
        dtype=DTYPE,
        feature_shape=first['feature_shape'],
        world_size=world_size,
        meta=first.get('meta', {}),
        shards={},
        entries={})
    for rank in range(world_size):
        path = osp.join(out_dir, rank_index_name(rank))
        if not osp.exists(path):
            raise FeatureCacheError(f'rank {rank} index missing: {path}')
        index = load_index(path)
        if not index.get('complete'):
            raise FeatureCacheError(f'rank {rank} is incomplete ({path}); '
                                    'rerun that rank with --resume')
        shape = index['feature_shape']
        if shape is not None:
            if merged['feature_shape'] is None:
                merged['feature_shape'] = shape
            elif shape != merged['feature_shape']:
                raise FeatureCacheError(
                    f'{path}: feature shape {shape} differs from '
                    f'{merged["feature_shape"]}')
        for key, entry in index['entries'].items():
            if key in merged['entries']:
                raise FeatureCacheError(f'image key {key!r} cached by two '
                                        f'ranks (second: {path})')
            merged['entries'][key] = entry
        merged['shards'].update(index['shards'])
    atomic_write_json(osp.join(out_dir, INDEX_FILE), merged)
    return merged


class FeatureCache:
    """Read-only access to a merged feature cache.

    Args:
        cache_dir: directory holding ``index.json`` and ``shards/``.
        verify: check each item's CRC-32 on every :meth:`get`.

    Raises:
        FileNotFoundError: no ``index.json`` (names the path).
        FeatureCacheError: the index is corrupt (names the file).
    """

    def __init__(self, cache_dir: str, verify: bool = False) -> None:
        self.cache_dir = cache_dir
        self.verify = verify
        self.index_path = osp.join(cache_dir, INDEX_FILE)
        if not osp.exists(self.index_path) and glob.glob(
                osp.join(cache_dir, 'index.rank*.json')):
            raise FileNotFoundError(
                f'{self.index_path} missing but per-rank indices exist: the '
                'caching run did not finish (rerun it with --resume)')
        self.index = load_index(self.index_path)
        self.entries: Dict[str, dict] = self.index['entries']
        self._shards: Dict[str, np.ndarray] = {}

    def __getstate__(self) -> dict:
        # memmaps are reopened lazily in each dataloader worker
        state = self.__dict__.copy()
        state['_shards'] = {}
        return state

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, image_id: Any) -> bool:
        return str(image_id) in self.entries

    def keys(self) -> Iterable[str]:
        return self.entries.keys()

    @property
    def feature_shape(self) -> List[int]:
        return list(self.index['feature_shape'] or [])

    def entry(self, image_id: Any) -> dict:
        key = str(image_id)
        if key not in self.entries:
            raise KeyError(f'image id {key!r} is not in the feature cache '
                           f'{self.cache_dir} ({len(self)} images)')
        return self.entries[key]

    def aug(self, image_id: Any) -> dict:
        """Geometric augmentation parameters the features were made with."""
        return dict(self.entry(image_id)['aug'])

    def _shard(self, name: str) -> np.ndarray:
        if name not in self._shards:
            path = osp.join(self.cache_dir, SHARD_DIR, name)
            if not osp.exists(path):
                raise FeatureCacheError(f'shard file missing: {path}')
            try:
                self._shards[name] = np.load(path, mmap_mode='r')
            except (OSError, ValueError) as err:
                raise FeatureCacheError(
                    f'unreadable shard {path}: {err}') from err
        return self._shards[name]

    def get(self, image_id: Any, verify: Optional[bool] = None) -> np.ndarray:
        """Features ``[C, h, w]`` float16 of one image (a read-only view of the
        memory-mapped shard).

        Raises:
            KeyError: unknown image id (names the id and the cache dir).
            ChecksumError: with verification on, when the bytes differ from
                the index (names the key and the shard file).
        """
        entry = self.entry(image_id)
        data = self._shard(entry['shard'])
        if entry['offset'] >= data.shape[0] or \
                list(data.shape[1:]) != list(entry['shape']):
            raise FeatureCacheError(
                f'shard {entry["shard"]} in {self.cache_dir} does not match '
                f'the index for image {image_id!r}')
        feat = data[entry['offset']]
        if self.verify if verify is None else verify:
            if feature_crc32(feat) != entry['crc32']:
                raise ChecksumError(
                    f'checksum mismatch for image {image_id!r} in '
                    f'{osp.join(self.cache_dir, SHARD_DIR, entry["shard"])}')
        return feat

    def verify_all(self) -> List[str]:
        """Keys whose stored bytes fail their checksum (empty when OK)."""
        bad = []
        for key in self.entries:
            try:
                self.get(key, verify=True)
            except FeatureCacheError:
                bad.append(key)
        return bad
