# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Stage 1 (encoder distillation on SA-1B): AdamW lr 1e-4, weight decay 0.05,
# 1k-iteration linear warm-up then cosine decay, effective batch 64.
#
# The reference setting is 8 GPUs x 8 images = 64 images per optimiser step.
# With fewer GPUs keep the effective batch by accumulating gradients, e.g.
# one GPU: --cfg-options optim_wrapper.accumulative_counts=8. Iterations count
# micro-batches, so multiply train_cfg.max_iters (and the scheduler ends) by
# the same factor. ``tools/train.py --amp`` switches to AmpOptimWrapper (the
# paper trains with AMP); ``--auto-scale-lr`` rescales lr from
# auto_scale_lr.base_batch_size.
# A child config that changes ``max_iters`` calls ``warmup_cosine`` again
# (e.g. configs/stage2/tiny.py); ``--cfg-options train_cfg.max_iters=N``
# shortens the loop only, the scheduler keeps its ends.
from mmengine.config import read_base

with read_base():
    from .warmup_cosine import warmup_cosine

num_gpus = 8
batch_size_per_gpu = 8
total_batch_size = 64
accumulative_counts = total_batch_size // (num_gpus * batch_size_per_gpu)

max_iters = 90000
warmup_iters = 1000
val_interval = 5000

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    accumulative_counts=accumulative_counts,
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))

param_scheduler = warmup_cosine(max_iters, warmup_iters, start_factor=1e-3)

auto_scale_lr = dict(enable=False, base_batch_size=total_batch_size)
del warmup_cosine
