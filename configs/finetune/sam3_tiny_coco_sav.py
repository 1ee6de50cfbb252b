# Fine-tune SAM3 on COCO-format images and SA-V-format clips together: the
# video tracker (transformers' Sam3TrackerVideoModel, sharing SAM3's trunk)
# learns to follow the frame-0 GT masks through each clip. Every batch
# comes from one source (2 images or 1 clip of 4 frames).
_base_ = ['./sam3_tiny_coco.py']
model = dict(
    student=dict(video=dict(config={{_base_.video_tracker_cfg.config}})),
    max_track_objects=4)
sav_root = 'data/samples/sav/'
clip_dataset = dict(
    type='SAVDataset',
    data_root=sav_root,
    num_frames=4,
    max_objects=8,
    clip_mode='random',
    pipeline=[
        dict(type='LoadVideoClip'),
        dict(
            type='mmcv.TransformBroadcaster',
            share_random_params=True,
            transforms=[
                dict(type='mmdet.RandomFlip', prob=0.5),
                dict(type='Sam3Resize', size=224),
            ]),
        dict(type='PackVideoInputs'),
    ])
train_dataloader = dict(
    _delete_=True,
    batch_size=[2, 1],  # per source: images, clips
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='SourceBatchSampler', num_datasets=2),
    dataset=dict(
        type='mmdet.ConcatDataset',
        ignore_keys=['dataset_name'],
        datasets=[{{_base_.train_dataloader.dataset}}, clip_dataset]))
