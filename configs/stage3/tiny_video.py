# Video concept segmentation on the bundled SA-Co/VEval-format clip: each
# phrase is detected on every frame and the detections are linked into
# masklets by the Perceiver-memory tracker; VideoCGF1Metric reports cgF1 /
# IL_MCC / pmF1 over masklets.
#   python tools/test.py configs/stage3/tiny_video.py CKPT
from mmengine.config import read_base

with read_base():
    from .tiny import *

val_dataloader = video_val_dataloader
test_dataloader = val_dataloader
val_evaluator = dict(type='VideoCGF1Metric', score_thr=0.3)
test_evaluator = val_evaluator
