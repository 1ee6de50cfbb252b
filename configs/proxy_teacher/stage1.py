# Quick start Stage 1 distilled from the proxy teacher: the tiny SAM3 of
# configs/stage1/tiny.py fine-tuned on the bundled samples
# (tools/misc/train_proxy_teacher.py, weights in data/proxy_teacher).
# The test also scores the teacher's box / point masks against the GT.
_base_ = ['../stage1/tiny.py']
proxy_teacher = 'data/proxy_teacher'
model = dict(
    teacher=dict(_delete_=True, type='Sam3Teacher', pretrained=proxy_teacher))
val_evaluator = [
    dict(type='PromptMIoUMetric', prefix='student'),
    dict(
        type='PromptMIoUMetric',
        pred_key='teacher_prompt_masks',
        prefix='teacher'),
    dict(type='TeacherFidelityMetric', prefix='student_vs_teacher'),
]
test_evaluator = val_evaluator
