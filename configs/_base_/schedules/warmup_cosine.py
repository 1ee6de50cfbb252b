# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# The learning-rate shape of every esam3 schedule: linear warm-up from
# ``start_factor * lr``, then cosine decay to 1 % of lr at ``max_iters``.
# A config that imports it calls it and then deletes the name (mmengine
# cannot dump a function into the work dir).


def warmup_cosine(max_iters, warmup_iters, start_factor):
    """``param_scheduler`` for ``max_iters`` iterations, ``warmup_iters`` of
    them warm-up."""
    return [
        dict(
            type='LinearLR',
            start_factor=start_factor,
            by_epoch=False,
            begin=0,
            end=warmup_iters),
        dict(
            type='CosineAnnealingLR',
            T_max=max_iters - warmup_iters,
            eta_min_ratio=0.01,
            by_epoch=False,
            begin=warmup_iters,
            end=max_iters),
    ]
