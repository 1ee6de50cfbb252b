# Quick start Stage 3 distilled from the proxy teacher (a trained teacher,
# so its concept scores are distilled too: distill_weight=1 as in the real
# configs). Evaluate the teacher on the same pairs with
#   --cfg-options model.predict_with=teacher
_base_ = ['../stage3/tiny.py']
proxy_teacher = 'data/proxy_teacher'
model = dict(
    teacher=dict(_delete_=True, type='Sam3Teacher', pretrained=proxy_teacher),
    distill_weight=1.0)
