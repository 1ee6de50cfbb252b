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
