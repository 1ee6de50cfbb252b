# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Toy config for the tool tests: a linear student distilled from a frozen
# linear teacher on synthetic data, a few CPU iterations, checkpoint every 2.
# Needs tests/toy on PYTHONPATH (the tests set it) for ``custom_imports``.
_base_ = ['../../configs/_base_/default_runtime.py', './toy_model_data.py']

train_cfg = dict(type='IterBasedTrainLoop', max_iters=8, val_interval=1000)
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.05, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=3),
]

default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=-1, save_last=True))
custom_hooks = [dict(type='ToyRankMarkerHook')]
