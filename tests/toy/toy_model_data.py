# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Toy model + data (no schedule): combine with a runtime and a schedule.
# Needs tests/toy on PYTHONPATH (the tests set it) for ``custom_imports``.
custom_imports = dict(
    imports=['esam3_toy_modules'], allow_failed_imports=False)

model = dict(type='ToyDistiller', in_dim=4, out_dim=2)

train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyDataset', num_samples=32))
test_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyDataset', num_samples=8))
test_evaluator = dict(type='ToyMSEMetric')

randomness = dict(seed=0)
