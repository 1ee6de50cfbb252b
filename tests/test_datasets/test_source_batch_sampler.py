# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import itertools

import pytest
from mmdet.datasets import ConcatDataset
from mmengine.dataset import BaseDataset, InfiniteSampler

from esam3.datasets.samplers import SourceBatchSampler


class Toy(BaseDataset):
    METAINFO = dict(classes=('object', ))

    def __init__(self, n, tag, sized=True):
        self.n, self.tag, self.sized = n, tag, sized
        super().__init__(serialize_data=False, lazy_init=False)

    def load_data_list(self):
        # images know their size; SA-V clips do not before decoding
        size = dict(width=4, height=3) if self.sized else {}
        return [dict(tag=self.tag, **size) for _ in range(self.n)]


def test_batches_come_from_one_source_with_its_batch_size():
    data = ConcatDataset([Toy(7, 'img'), Toy(3, 'clip', sized=False)])
    sampler = SourceBatchSampler(
        InfiniteSampler(data, seed=0), batch_size=[2, 1], num_datasets=2)
    # one pass: 7 // 2 + 3 // 1 batches; the parent class would iterate the
    # infinite sampler forever here
    assert len(sampler) == 6
    kinds = set()
    for batch in itertools.islice(iter(sampler), 40):
        tags = {data.get_data_info(i)['tag'] for i in batch}
        assert len(tags) == 1
        tag = tags.pop()
        assert len(batch) == (2 if tag == 'img' else 1)
        kinds.add(tag)
    assert kinds == {'img', 'clip'}


def test_source_count_must_match():
    data = ConcatDataset([Toy(2, 'a'), Toy(2, 'b')])
    sampler = SourceBatchSampler(
        InfiniteSampler(data), batch_size=[1, 1, 1], num_datasets=3)
    with pytest.raises(ValueError, match='num_datasets=3'):
        len(sampler)


def test_finite_sampler_yields_the_rest_unless_dropped():
    from mmengine.dataset import DefaultSampler
    data = ConcatDataset([Toy(5, 'img'), Toy(2, 'clip', sized=False)])
    # img [0, 1], img [2, 3], clip [5, 6], then the rest: img [4]
    for drop_last, expected in ((False, [2, 2, 2, 1]), (True, [2, 2, 2])):
        sampler = SourceBatchSampler(
            DefaultSampler(data, shuffle=False),
            batch_size=[2, 2],
            num_datasets=2,
            drop_last=drop_last)
        batches = list(sampler)
        assert [len(b) for b in batches] == expected
        assert sorted(i for b in batches for i in b) == (
            list(range(7)) if not drop_last else [0, 1, 2, 3, 5, 6])
