# Stage 1 of the quick start scored on the five SA-1B-format images that
# the proxy teacher was not fitted to (data/samples/sa1b/
# unseen_by_proxy_teacher.txt; tools/misc/train_proxy_teacher.py fits
# geometric prompts on the three COCO-format images only): box / point mIoU
# vs all their GT masks, for the student and the teacher, and the student's
# fidelity to the teacher. The student distilled on these images (without
# labels), so they are held out from the teacher's fitting only.
#   python tools/test.py configs/proxy_teacher/stage1_heldout.py CKPT
from mmengine.config import read_base

with read_base():
    from .stage1 import *

# the Stage 1 test loader (batch 1, in order) over the five images
test_dataloader = val_dataloader.copy()
test_dataloader.dataset = dict(
    type='SA1BDataset',
    data_root=data_root,
    ann_file='unseen_by_proxy_teacher.txt',
    data_prefix=dict(img='', ann=''),
    max_instances=None,
    lazy_parse=False,
    test_mode=True,
    pipeline=test_pipeline)
