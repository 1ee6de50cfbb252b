# Quick start Stage 2 distilled from the proxy teacher's video tracker
# (data/proxy_teacher/tracker_video, trunk shared with the image models).
# Evaluate the teacher on the same clip with
#   --cfg-options model.predict_with=teacher
_base_ = ['../stage2/tiny.py']
proxy_teacher = 'data/proxy_teacher'
model = dict(
    teacher=dict(
        _delete_=True, type='Sam3VideoTeacher', pretrained=proxy_teacher),
    student=dict(
        # The tiny video tracker has a neck of its own (128 wide) that
        # Stage 1 never distilled: the student's light neck learns its
        # 'video' branch here (backbone frozen) from the teacher neck's
        # levels. Real SAM3 shares the tracker neck: no such step needed.
        freeze_trunk=False,
        trunk=dict(backbone=dict(freeze=True))),
    level_loss_weights=(1.0, 1.0, 1.0))
