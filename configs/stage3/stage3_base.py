# Stage 3 (end-to-end promptable concept segmentation) on SA-Co with the real
# SAM3 teacher at 1008 px. Start from the Stage 2 checkpoint of the same
# student (encoder + Perceiver-memory tracker, loaded strictly):
#   --cfg-options \
#     model.student.stage2_checkpoint=work_dirs/stage2_repvit_m1_1/iter_N.pth
# Training data: SA-Co images (saco.py); with SA-Co-style video data use
# configs/_base_/datasets/saco_video.py instead (images and clips mixed).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/stage3.py',
    '../_base_/datasets/saco.py',
    '../_base_/models/sam3.py',
    '../_base_/models/stage3_distiller.py',
]
model = dict(
    student=dict(
        sam3={{_base_.sam3_cfg}},
        trunk=dict(neck={{_base_.student_neck}}),
        video=dict(sam3_video={{_base_.sam3_cfg}})),
    teacher={{_base_.teacher_cfg}})
