# Stage 1 (encoder distillation, prompt-in-the-loop) on SA-1B with the real
# SAM3 teacher at 1008 px. Students differ only in their backbone file.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/stage1.py',
    '../_base_/datasets/sa1b.py',
    '../_base_/models/sam3.py',
    '../_base_/models/stage1_distiller.py',
]
model = dict(
    student=dict(
        sam3={{_base_.sam3_cfg}}, trunk=dict(neck={{_base_.student_neck}})),
    teacher={{_base_.teacher_cfg}})
val_evaluator = [
    dict(type='PromptMIoUMetric', prefix='student'),
    dict(type='TeacherFidelityMetric', prefix='student_vs_teacher'),
]
test_evaluator = val_evaluator
