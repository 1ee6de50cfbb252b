# Quick start Stage 3 distilled from the proxy teacher (a trained teacher,
# so its concept scores are distilled too: distill_weight=1 as in the real
# configs). Evaluate the teacher on the same pairs with
#   --cfg-options model.predict_with=teacher
from mmengine.config import read_base

with read_base():
    from ..stage3.tiny import *

proxy_teacher = 'data/proxy_teacher'
model.teacher = dict(type='Sam3Teacher', pretrained=proxy_teacher)
model.distill_weight = 1.0
# seeded, so the quick start's numbers repeat on the same machine
randomness = dict(seed=0)
# the classification loss the proxy teacher's concept queries were trained
# with (tools/misc/train_proxy_teacher.py --cls-loss bce: focal loss left
# the matched scores under SAM3's 0.5 threshold after minutes of training)
model.loss_cls = dict(
    type='mmdet.FocalLoss',
    use_sigmoid=True,
    gamma=0.0,
    alpha=0.5,
    reduction='mean',
    loss_weight=4.0)
