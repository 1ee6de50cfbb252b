# Quick start Stage 2 distilled from the proxy teacher's video tracker
# (data/proxy_teacher/tracker_video, trunk shared with the image models;
# the student's 'video' levels were distilled in Stage 1,
# configs/proxy_teacher/stage1.py). Evaluate the teacher on the same clip
# with --cfg-options model.predict_with=teacher
_base_ = ['../stage2/tiny.py']
proxy_teacher = 'data/proxy_teacher'
model = dict(
    teacher=dict(
        _delete_=True, type='Sam3VideoTeacher', pretrained=proxy_teacher))
# a trained teacher leaves more to learn than the random one: twice the
# iterations of configs/stage2/tiny.py at a higher rate
max_iters = 40
# no validation inside training: the quick start's test run evaluates it
train_cfg = dict(max_iters=max_iters, val_interval=10 * max_iters)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - 5,
        eta_min_ratio=0.01,
        by_epoch=False,
        begin=5,
        end=max_iters),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
