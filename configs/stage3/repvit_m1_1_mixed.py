# Stage 3 with images and clips mixed: SA-Co image pairs (as in
# repvit_m1_1.py) plus SA-Co/VEval-format video pairs; every batch is either
# 4 images or 1 clip of 8 frames per GPU (32 images or 8 clips on 8 GPUs).
# For another student, change the base below to its Stage 3 config.
#   tools/dist_train.sh configs/stage3/repvit_m1_1_mixed.py 8 --cfg-options \
#       model.student.stage2_checkpoint=work_dirs/stage2_repvit_m1_1/iter_N.pth
_base_ = ['./repvit_m1_1.py']
video_data_root = 'data/saco_video/'
num_frames = 8
video_meta_keys = ('text', 'is_negative', 'label')
video_train_pipeline = [
    dict(type='LoadVideoClip'),
    dict(
        type='mmcv.TransformBroadcaster',
        share_random_params=True,
        transforms=[
            # flip, then SAM3's square resize. No scale jitter: shrinking +
            # padding puts the teacher outside its input distribution, and
            # a random crop drops objects from a clip / a concept pair.
            dict(type='mmdet.RandomFlip', prob=0.5),
            dict(type='Sam3Resize', size={{_base_.img_size}}),
        ]),
    dict(type='PackVideoInputs', meta_keys=video_meta_keys),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=[4, 1],  # per source: images, clips
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='SourceBatchSampler', num_datasets=2),
    dataset=dict(
        type='mmdet.ConcatDataset',
        ignore_keys=['dataset_name'],
        datasets=[
            {{_base_.train_dataloader.dataset}},
            dict(
                type='SACoVideoDataset',
                data_root=video_data_root,
                ann_file='annotations/train.json',
                data_prefix=dict(img='JPEGImages/'),
                num_frames=num_frames,
                clip_mode='random',
                pipeline=video_train_pipeline),
        ]))
