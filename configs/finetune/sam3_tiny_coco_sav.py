# Fine-tune SAM3 on COCO-format images and SA-V-format clips together: the
# video tracker (transformers' Sam3TrackerVideoModel, sharing SAM3's trunk)
# learns to follow the frame-0 GT masks through each clip. Every batch
# comes from one source (2 images or 1 clip of 4 frames).
from mmengine.config import read_base

with read_base():
    from .sam3_tiny_coco import *
    from .._base_.datasets.pipelines import video_pipelines

model.student.video = dict(config=video_tracker_cfg.config)
model.max_track_objects = 4
clip_dataset = dict(
    type='SAVDataset',
    data_root='data/samples/sav/',
    num_frames=4,
    max_objects=8,
    clip_mode='random',
    pipeline=video_pipelines(img_size)[0])
train_dataloader = dict(
    batch_size=[2, 1],  # per source: images, clips
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='SourceBatchSampler', num_datasets=2),
    dataset=dict(
        type='mmdet.ConcatDataset',
        ignore_keys=['dataset_name'],
        datasets=[train_dataloader.dataset, clip_dataset]))
del video_pipelines
