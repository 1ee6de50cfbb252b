# 800 iterations of the tiny Stage 3 recipe (same warm-up + cosine shape):
# what the concept heads learn on the bundled pairs (docs/stage3.md).
#   python tools/train.py configs/stage3/tiny_long.py --cfg-options \
#       model.student.stage2_checkpoint=work_dirs/quick_start/stage2/iter_20.pth
_base_ = ['./tiny.py']
train_cfg = dict(max_iters=800, val_interval=800)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(
        type='CosineAnnealingLR',
        T_max=780,
        eta_min_ratio=0.01,
        by_epoch=False,
        begin=20,
        end=800),
]
default_hooks = dict(checkpoint=dict(interval=800), logger=dict(interval=50))
