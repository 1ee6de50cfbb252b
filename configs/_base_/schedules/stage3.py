# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Stage 3 (end-to-end promptable-concept fine-tune on SA-Co): AdamW lr 2e-5,
# short linear warm-up then cosine decay, gradient clipping at 1.0, EMA of
# the student weights, effective batch 32 images (8 GPUs x 4). AMP via
# ``tools/train.py --amp``. Stage 1's schedule with these values (see
# stage1.py for accumulation notes).
from mmengine.config import read_base

with read_base():
    from .stage1 import *
    from .warmup_cosine import warmup_cosine

batch_size_per_gpu = 4
total_batch_size = 32
accumulative_counts = total_batch_size // (num_gpus * batch_size_per_gpu)

max_iters = 20000
warmup_iters = 200
val_interval = 2000

train_cfg.update(max_iters=max_iters, val_interval=val_interval)
optim_wrapper.optimizer.lr = 2e-5
optim_wrapper.update(
    accumulative_counts=accumulative_counts,
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = warmup_cosine(max_iters, warmup_iters, start_factor=1e-2)

# EMA of the student. mmengine's EMAHook stores the averaged weights as the
# checkpoint's ``state_dict`` and the raw ones in ``ema_state_dict``
# (``module.``-prefixed); tools/model_converters/publish_model.py knows both.
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=0.0002,
        update_buffers=True,
        priority=49),
]

auto_scale_lr.base_batch_size = total_batch_size
del warmup_cosine
