# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Batches drawn from one source of a ConcatDataset (images or clips)."""
from typing import Iterator, List

from mmdet.datasets.samplers import MultiDataAspectRatioBatchSampler

from esam3.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class SourceBatchSampler(MultiDataAspectRatioBatchSampler):
    """Mmdet's :class:`MultiDataAspectRatioBatchSampler` (one batch size per
    source of an mmdet ``ConcatDataset``; a batch holds samples of one source
    and one aspect-ratio group), usable with mmengine's ``InfiniteSampler``.

    Unlike the parent, batches are not grouped by aspect ratio: SAM3 resizes
    every image and frame to S x S, so the ratio changes nothing, and a clip
    dataset does not know its frame size before decoding (the parent reads
    ``width`` / ``height`` of every sample and fails on SA-V clips).

    The parent's ``__len__`` iterates the sampler to count samples per
    source, which never ends on an infinite sampler (mmengine asks for the
    length when it builds the train loop). Here the count comes from the
    dataset's ``cumulative_sizes`` instead: the number of batches of one
    pass over the data.

    Args:
        sampler: base sampler over an mmdet ``ConcatDataset``.
        batch_size: one batch size per source.
        num_datasets: number of sources.
        drop_last: drop incomplete batches.
    """

    def __len__(self) -> int:
        dataset = self.sampler.dataset
        ends = list(dataset.cumulative_sizes)
        if len(ends) != self.num_datasets:
            raise ValueError(f'SourceBatchSampler: num_datasets='
                             f'{self.num_datasets} but the ConcatDataset has '
                             f'{len(ends)} sources')
        sizes = [e - s for s, e in zip([0] + ends[:-1], ends)]
        if self.drop_last:
            return sum(n // b for n, b in zip(sizes, self.batch_size))
        return sum(-(-n // b) for n, b in zip(sizes, self.batch_size))

    def __iter__(self) -> Iterator[List[int]]:
        buckets = [[] for _ in range(self.num_datasets)]
        for idx in self.sampler:
            source = self.sampler.dataset.get_dataset_source(idx)
            buckets[source].append(idx)
            if len(buckets[source]) == self.batch_size[source]:
                yield buckets[source]
                buckets[source] = []
        # a finite sampler ends: the incomplete batches, unless dropped
        for bucket in buckets:
            if bucket and not self.drop_last:
                yield bucket
