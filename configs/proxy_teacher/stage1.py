# Quick start Stage 1 distilled from the proxy teacher: the tiny SAM3 of
# configs/stage1/tiny.py fine-tuned on the bundled samples
# (tools/misc/train_proxy_teacher.py, weights in data/proxy_teacher).
# The test also scores the teacher's box / point masks against the GT.
from mmengine.config import read_base

with read_base():
    from ..stage1.tiny import *

proxy_teacher = 'data/proxy_teacher'
# The student distils (prompts from the masks, targets from the teacher, no
# GT loss) on all eight SA-1B-format images, train.txt + val.txt: the three
# of the COCO-format sample, which the teacher was fitted to and both are
# evaluated on, and five the teacher never saw. The summary's Stage 1 row
# is thus a fidelity proxy on the teacher's own data; stage1_heldout.py
# scores both on the five (unseen_by_proxy_teacher.txt).
fit_images = train_dataloader.dataset.copy()
fit_images.ann_file = 'val.txt'
train_dataloader.dataset = dict(
    type='ConcatDataset', datasets=[train_dataloader.dataset, fit_images])
model.teacher = dict(type='Sam3Teacher', pretrained=proxy_teacher)
# The tiny video tracker has a neck of its own (128 wide, on the shared
# trunk): the student's light-neck 'video' branch learns its levels here
# too, so Stage 2 starts from levels the video tracker can read (real
# SAM3's video tracker shares the tracker neck).
model.video_teacher = dict(type='Sam3VideoTeacher', pretrained=proxy_teacher)
model.feat_level_weights.video = (0.1, 0.1, 1.0)
val_evaluator = [
    dict(type='PromptMIoUMetric', prefix='student'),
    dict(
        type='PromptMIoUMetric',
        pred_key='teacher_prompt_masks',
        prefix='teacher'),
    dict(type='TeacherFidelityMetric', prefix='student_vs_teacher'),
]
test_evaluator = val_evaluator
# seeded, so the quick start's numbers repeat on the same machine
randomness = dict(seed=0)
