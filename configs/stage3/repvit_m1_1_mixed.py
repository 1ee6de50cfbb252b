# Stage 3 with images and clips mixed: SA-Co image pairs (as in
# repvit_m1_1.py) plus SA-Co/VEval-format video pairs
# (configs/_base_/datasets/saco_video.py); every batch is either 4 images or
# 1 clip of 8 frames per GPU (32 images or 8 clips on 8 GPUs). For another
# student, change the first import below to its Stage 3 config.
#   tools/dist_train.sh configs/stage3/repvit_m1_1_mixed.py 8 --cfg-options \
#       model.student.stage2_checkpoint=work_dirs/stage2_repvit_m1_1/iter_N.pth
from mmengine.config import read_base

with read_base():
    from .repvit_m1_1 import *
    from .._base_.datasets.saco_video import *
