# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import itertools

import pytest
from mmdet.datasets import ConcatDataset
from mmengine.dataset import BaseDataset, InfiniteSampler

from esam3.datasets.samplers import SourceBatchSampler


class Toy(BaseDataset):
    METAINFO = dict(classes=('object', ))

    def __init__(self, n, tag):
        self.n, self.tag = n, tag
        super().__init__(serialize_data=False, lazy_init=False)

    def load_data_list(self):
        return [dict(tag=self.tag, width=4, height=3) for _ in range(self.n)]


def test_batches_come_from_one_source_with_its_batch_size():
    data = ConcatDataset([Toy(7, 'img'), Toy(3, 'clip')])
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
