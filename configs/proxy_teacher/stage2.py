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
