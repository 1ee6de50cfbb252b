# Stage 3 (end-to-end promptable concept segmentation) on SA-Co with the real
# SAM3 teacher at 1008 px. Start from the Stage 2 (or Stage 1) checkpoint:
#   --cfg-options load_from=work_dirs/stage2_repvit_m1_1/iter_XXX.pth
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
        trunk=dict(neck=dict(
            out_channels={{_base_.trunk_channels}},
            out_size=({{_base_.trunk_grid}}, {{_base_.trunk_grid}})))),
    teacher={{_base_.teacher_cfg}})
