# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import json
import os.path as osp

import pytest

from esam3.datasets import PhraseDataset
from esam3.datasets.phrase_dataset import is_held_out


def test_bundled_lists_split_and_pack(repo_root):
    root = osp.join(repo_root, 'data/phrases')
    train = PhraseDataset(data_root=root, ann_file='train.txt')
    val = PhraseDataset(data_root=root, ann_file='val.txt')
    tr = {train[i]['inputs'] for i in range(len(train))}
    va = {val[i]['inputs'] for i in range(len(val))}
    assert len(tr) > 1000 and len(va) > 100 and not tr & va
    assert all(is_held_out(p, 10) for p in va)
    item = val[0]
    assert item == dict(
        inputs=item['inputs'],
        data_samples=dict(text=item['inputs'], phrase_id=0))
    # the hash split of the union gives the same held-out phrases
    both = PhraseDataset(
        data_root=root, ann_file=['train.txt', 'val.txt'], split='val')
    assert {both[i]['inputs'] for i in range(len(both))} == va


def test_json_sources_dedup_and_skip(tmp_path, caplog):
    saco = dict(
        images=[
            dict(id=1, text_input='red car'),
            dict(id=2, text_input='  '),
            dict(id=3, text_input=7),
            dict(id=4, text_input='Red Car')
        ],
        annotations=[])
    lvis = dict(categories=[
        dict(id=1, name='fire_hydrant', synonyms=['fire_plug', 'hydrant']),
    ])
    (tmp_path / 'saco.json').write_text(json.dumps(saco))
    (tmp_path / 'lvis.json').write_text(json.dumps(lvis))
    ds = PhraseDataset(
        data_root=str(tmp_path), ann_file=['saco.json', 'lvis.json'])
    assert [ds[i]['inputs'] for i in range(len(ds))
            ] == ['red car', 'fire hydrant', 'fire plug', 'hydrant']


def test_bad_sources_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        PhraseDataset(ann_file=str(tmp_path / 'nope.txt'))
    (tmp_path / 'x.json').write_text(json.dumps(dict(foo=1)))
    with pytest.raises(ValueError, match='not a phrase source'):
        PhraseDataset(ann_file=str(tmp_path / 'x.json'))
    (tmp_path / 'e.txt').write_text('# only a comment\n\n')
    with pytest.raises(ValueError, match='no all phrases'):
        PhraseDataset(ann_file=str(tmp_path / 'e.txt'))
    with pytest.raises(ValueError, match='split'):
        PhraseDataset(ann_file=str(tmp_path / 'e.txt'), split='test')
