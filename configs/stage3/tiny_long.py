# 800 iterations of the tiny Stage 3 recipe (same warm-up + cosine shape):
# what the concept heads learn on the bundled pairs (docs/stage3.md).
#   python tools/train.py configs/stage3/tiny_long.py --cfg-options \
#       model.student.stage2_checkpoint=work_dirs/quick_start/stage2/iter_20.pth
from mmengine.config import read_base

with read_base():
    from .tiny import *
    from .._base_.schedules.warmup_cosine import warmup_cosine

train_cfg.update(max_iters=800, val_interval=800)
param_scheduler = warmup_cosine(800, 20, start_factor=0.1)
default_hooks.update(checkpoint=dict(interval=800), logger=dict(interval=50))
del warmup_cosine
