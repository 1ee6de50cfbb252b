# Quick start / CI: distil the tiny random SAM3's text encoder (CLIP +
# projection) into a tiny MobileCLIP-style text student
# (Sam3LiteTextTextModel) on the bundled phrase list (data/phrases: COCO,
# LVIS, Objects365 names and the SA-Co sample phrases; val.txt is held out).
# mobileclip_s0.py's recipe with the tiny sizes, data and schedule.
from mmengine.config import read_base

with read_base():
    from .mobileclip_s0 import *
    from .._base_.models.sam3_tiny import sam3_cfg
    from .._base_.schedules.tiny import *

# a Sam3LiteTextTextModel: RepMixer blocks first and last
text_student.config.update(
    hidden_size=64,
    intermediate_size=128,
    projection_dim=64,
    num_hidden_layers=3,
    num_attention_heads=2)
text_student.out_channels = 32  # the tiny SAM3's DETR width
model.student = text_student
model.teacher = dict(type='Sam3TextTeacher', config=sam3_cfg.config)
train_dataloader.update(batch_size=32, num_workers=0)
train_dataloader.dataset = dict(
    type='PhraseDataset', data_root='data/phrases', ann_file='train.txt')
val_dataloader.update(batch_size=64, num_workers=0)
val_dataloader.dataset = dict(
    type='PhraseDataset', data_root='data/phrases', ann_file='val.txt')
test_dataloader = val_dataloader
optim_wrapper.optimizer.update(lr=2e-3, weight_decay=0.01)
default_hooks.update(checkpoint=dict(interval=200), logger=dict(interval=20))
