# A short CPU schedule for the quick start and CI on the bundled samples:
# single process, no accumulation, warm-up then cosine over `max_iters`.
# The same names as the stage schedules, so a tiny stage config that starts
# from its real stage config replaces every one of them.
from mmengine.config import read_base

with read_base():
    from .warmup_cosine import warmup_cosine

num_gpus = 1
batch_size_per_gpu = 2
total_batch_size = 2
accumulative_counts = 1

max_iters = 200
warmup_iters = 20
val_interval = max_iters
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = warmup_cosine(max_iters, warmup_iters, start_factor=0.1)
auto_scale_lr = dict(enable=False, base_batch_size=total_batch_size)
del warmup_cosine
