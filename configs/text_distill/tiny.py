# Quick start / CI: distil the tiny random SAM3's text encoder (CLIP +
# projection) into a tiny MobileCLIP-style text student
# (Sam3LiteTextTextModel) on the bundled phrase list (data/phrases: COCO,
# LVIS, Objects365 names and the SA-Co sample phrases; val.txt is held out).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/tiny.py',
    '../_base_/models/sam3_tiny.py',
]
context_length = 32
model = dict(
    type='TextDistiller',
    student=dict(
        type='Sam3LiteTextStudent',
        # a Sam3LiteTextTextModel: RepMixer blocks first and last
        config=dict(
            hidden_size=64,
            intermediate_size=128,
            projection_dim=64,
            num_hidden_layers=3,
            num_attention_heads=2,
            max_position_embeddings=context_length),
        out_channels=32),  # the tiny SAM3's DETR width
    teacher=dict(type='Sam3TextTeacher', config={{_base_.sam3_cfg.config}}),
    tokenizer=dict(type='Sam3Tokenizer', context_length=context_length),
    context_length=context_length)
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='PhraseDataset', data_root='data/phrases', ann_file='train.txt'))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='PhraseDataset', data_root='data/phrases', ann_file='val.txt'))
test_dataloader = val_dataloader
val_evaluator = dict(type='TextFidelityMetric', threshold=0.95)
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=0.01))
default_hooks = dict(checkpoint=dict(interval=200), logger=dict(interval=20))
