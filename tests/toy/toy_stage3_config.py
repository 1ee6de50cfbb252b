# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# The toy model + data under the Stage 3 schedule (EMA, grad clipping,
# warm-up + cosine) and the esam3 runtime, as a new-style config: three
# iterations, EMA momentum 0.5. Needs tests/toy on PYTHONPATH.
from mmengine.config import read_base

with read_base():
    from ...configs._base_.default_runtime import *
    from ...configs._base_.schedules.stage3 import *
    from .toy_model_data import *

train_cfg.update(max_iters=3, val_interval=100)
val_cfg = None
custom_hooks = [dict(type='EMAHook', momentum=0.5, priority=49)]
