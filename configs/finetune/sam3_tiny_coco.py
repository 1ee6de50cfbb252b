# Fine-tune SAM3 itself on COCO-format custom data (worked example: the
# bundled data/samples/coco). Every category name (or its `noun_phrase`
# field) is a concept prompt: positive pairs per category present, plus
# negatives of absent categories; the instances of positive pairs also train
# the geometric prompts (box / centre point + one corrective click).
#
# The tiny random SAM3 here keeps the example a few minutes on a CPU. For
# real SAM3 weights (a local save_pretrained folder with detector/ and
# tracker/, or the official layout) and 1008 px data:
#   --cfg-options model.student.config=None model.student.pretrained=PATH
# plus the 1008 px pipelines of configs/_base_/datasets/coco_concept.py.
# After training, write the fine-tuned SAM3 for use as a teacher with
#   python tools/misc/export_finetuned_sam3.py CONFIG CKPT OUT
from mmengine.config import read_base

with read_base():
    from .._base_.default_runtime import *
    from .._base_.schedules.tiny import *
    from .._base_.datasets.saco_tiny import *
    # the tiny SAM3 (sam3_tiny.py) + its video tracker, for the clip config
    from .._base_.models.sam3_video_tiny import *
    from .._base_.models.distiller_parts import sam3_data_preprocessor

coco_root = 'data/samples/coco/'
ann_file = 'annotations/instances_val.json'
model = dict(
    type='Sam3FineTuner',
    data_preprocessor=sam3_data_preprocessor,
    student=dict(
        type='Sam3Trainable',
        config=sam3_cfg.config,
        # name prefixes of frozen parameters (trunk, heads.detector.*,
        # heads.tracker.*, video.*); SAM3's text encoder stays as it is
        frozen=['heads.detector.text_encoder']),
    prompt_on_concepts=True,
    # COCO AP ranks every detection: keep all (as configs/stage3/tiny_coco.py)
    score_thr=0.0)
coco_dataset = dict(
    type='CocoConceptDataset',
    data_root=coco_root,
    ann_file=ann_file,
    data_prefix=dict(img='images/'))
train_dataloader.dataset = dict(
    **coco_dataset,
    num_negatives=1,
    # a phrase longer than SAM3's text context is an error, not a silent
    # truncation
    max_phrase_tokens=32,
    pipeline=train_pipeline)
# before / after: COCO AP with every category name prompted on every image
val_dataloader.dataset = dict(
    **coco_dataset, test_mode=True, num_negatives=1000, pipeline=test_pipeline)
test_dataloader = val_dataloader
val_evaluator = dict(
    type='mmdet.CocoMetric',
    ann_file=coco_root + ann_file,
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator
default_hooks.update(checkpoint=dict(interval=200), logger=dict(interval=20))
del sam3_data_preprocessor
