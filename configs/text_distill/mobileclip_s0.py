# Real size: distil SAM3's CLIP text encoder (353.7M parameters) into a
# MobileCLIP-S0-sized Sam3LiteTextTextModel (hidden 512, 6 layers with
# RepMixer blocks first and last: 42.4M + the 512 -> 256 projection).
# Projected per-token features (what SAM3's DETR reads) are matched on noun
# phrases: the SA-Co training phrases (point `saco_train` at your SA-Co
# json(s)) plus the bundled COCO / LVIS / Objects365 lists. Evaluation
# protocol of the public EfficientSAM3 text students: cosine to the teacher
# on the 5,184 SA-Co/VEval phrases (set `veval_phrases`; the held-out
# bundled list is the default so that the config runs as shipped):
#   python tools/test.py configs/text_distill/mobileclip_s0.py CKPT \
#       --cfg-options test_dataloader.dataset.ann_file=/data/saco_veval.json \
#       test_dataloader.dataset.split=all
# SAM3 weights are gated: --cfg-options model.teacher.pretrained=/data/sam3
from mmengine.config import read_base

with read_base():
    from .._base_.default_runtime import *
    from .._base_.schedules.warmup_cosine import warmup_cosine

context_length = 32
phrases = 'data/phrases/'
saco_train = []  # e.g. ['/data/saco/gold_train.json']
# the text student (also what configs/concept_light/*.py give Stage 3)
text_student = dict(
    type='Sam3LiteTextStudent',
    config=dict(
        hidden_size=512,
        intermediate_size=2048,
        projection_dim=512,
        num_hidden_layers=6,
        num_attention_heads=8,
        max_position_embeddings=context_length),
    out_channels=256)
model = dict(
    type='TextDistiller',
    student=text_student,
    teacher=dict(type='Sam3TextTeacher', pretrained='facebook/sam3'),
    tokenizer=dict(type='Sam3Tokenizer', context_length=context_length),
    context_length=context_length)
train_dataloader = dict(
    batch_size=256,
    num_workers=2,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='PhraseDataset',
        ann_file=saco_train + [phrases + 'train.txt'],
        split='train'))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='PhraseDataset', ann_file=phrases + 'val.txt', split='all'))
test_dataloader = val_dataloader
val_evaluator = dict(type='TextFidelityMetric', threshold=0.95)
test_evaluator = val_evaluator
max_iters = 20000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=1.0))
param_scheduler = warmup_cosine(max_iters, 1000, start_factor=0.01)
default_hooks.update(checkpoint=dict(interval=2000))
del warmup_cosine
