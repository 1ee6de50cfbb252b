# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Stage 2 (temporal memory distillation on SA-V clips): AdamW lr 5e-5, linear
# warm-up then cosine decay, effective batch 16 clips (8 GPUs x 2 clips).
# The image encoder is frozen by the model config; gradient checkpointing of
# the memory is a model option. Stage 1's schedule with these values (see
# stage1.py for accumulation / AMP notes).
from mmengine.config import read_base

with read_base():
    from .stage1 import *
    from .warmup_cosine import warmup_cosine

batch_size_per_gpu = 2
total_batch_size = 16
accumulative_counts = total_batch_size // (num_gpus * batch_size_per_gpu)

max_iters = 40000
warmup_iters = 500

train_cfg.max_iters = max_iters
optim_wrapper.optimizer.lr = 5e-5
optim_wrapper.accumulative_counts = accumulative_counts
param_scheduler = warmup_cosine(max_iters, warmup_iters, start_factor=1e-3)
auto_scale_lr.base_batch_size = total_batch_size
del warmup_cosine
