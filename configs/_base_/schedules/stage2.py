# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Stage 2 (temporal memory distillation on SA-V clips): AdamW lr 5e-5, linear
# warm-up then cosine decay, effective batch 16 clips (8 GPUs x 2 clips).
# The image encoder is frozen by the model config; gradient checkpointing of
# the memory is a model option. See stage1.py for accumulation / AMP notes.
from mmengine.config import read_base

with read_base():
    from .warmup_cosine import warmup_cosine

num_gpus = 8
batch_size_per_gpu = 2
total_batch_size = 16
accumulative_counts = total_batch_size // (num_gpus * batch_size_per_gpu)

max_iters = 40000
warmup_iters = 500
val_interval = 5000

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=5e-5, betas=(0.9, 0.999), weight_decay=0.05),
    accumulative_counts=accumulative_counts,
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))

param_scheduler = warmup_cosine(max_iters, warmup_iters, start_factor=1e-3)

auto_scale_lr = dict(enable=False, base_batch_size=total_batch_size)
del warmup_cosine
