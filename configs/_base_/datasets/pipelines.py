# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# The data pipelines of every dataset config, one definition each, built for
# a given input size: the real configs call them with SAM3's 1008 px, the
# tiny twins with the tiny teacher's 224 px. A config that imports one of
# these functions calls it and then deletes the name (``del``): mmengine
# dumps the resolved config into the work dir and cannot write a function.


def prompt_test_pipeline(img_size, meta_keys, backend_args=None):
    """Promptable segmentation (GT box / point prompts): the deployment path (=
    esam3.models.data_preprocessors.preprocess_image), S x S like transformers'
    Sam3ImageProcessor."""
    return [
        dict(type='LoadImageFromFile', backend_args=backend_args),
        dict(type='LoadRLEAnnotations'),
        # SAM3's processor: S x S, aspect ratio not kept (letterbox:
        # mmdet.Resize keep_ratio + PadBottomRight, resize_mode='letterbox')
        dict(type='Sam3Resize', size=img_size),
        dict(type='mmdet.PackDetInputs', meta_keys=meta_keys),
    ]


def sa1b_train_pipeline(img_size, meta_keys, backend_args=None):
    """SA-1B training (Stage 1).

    Paper recipe scaled to img_size: random resize with the short side in
    [640, 1024] / 1024 * S, hflip 0.5, small colour jitter, random S x S
    crop, then SAM3's square resize to S x S (no padding: the teacher sees
    inputs like its own processor's). The dataset keeps up to 32 instances
    per draw (decoding all ~100 SA-1B masks per image is slow); 16 survive
    the crop.
    """
    return [
        dict(type='LoadImageFromFile', backend_args=backend_args),
        dict(type='LoadRLEAnnotations'),
        dict(
            type='RandomResize',
            resize_type='mmdet.Resize',
            keep_ratio=True,
            scale=[(4 * img_size, img_size * 640 // 1024),
                   (4 * img_size, img_size)]),
        dict(type='mmdet.RandomFlip', prob=0.5),
        dict(type='mmdet.Brightness', prob=0.5, min_mag=0.9, max_mag=1.1),
        dict(type='mmdet.Contrast', prob=0.5, min_mag=0.9, max_mag=1.1),
        dict(type='mmdet.Color', prob=0.5, min_mag=0.9, max_mag=1.1),
        dict(
            type='mmdet.RandomCrop',
            crop_size=(img_size, img_size),
            crop_type='absolute',
            recompute_bbox=True,
            allow_negative_crop=False),
        dict(type='FilterEmptyInstances', min_mask_area=1),
        dict(type='SampleInstances', max_num=16),
        # then SAM3's square resize of the (<= S x S) crop to S x S
        dict(type='Sam3Resize', size=img_size),
        dict(type='mmdet.PackDetInputs', meta_keys=meta_keys),
    ]


def sa1b_fit_pipeline(img_size, meta_keys, backend_args=None):
    """Stage 1 on a handful of images (the bundled samples with the proxy
    teacher): the evaluation and deployment view, SAM3's square resize of the
    whole image, with horizontal flips only.

    On eight images the paper's random resized crops spend most steps on views
    the student is never evaluated on (quick-start Stage 1, 200 iterations: box
    mIoU 9.3 with this view against 6.5 with the crops).
    """
    return [
        dict(type='LoadImageFromFile', backend_args=backend_args),
        dict(type='LoadRLEAnnotations'),
        dict(type='mmdet.RandomFlip', prob=0.5),
        dict(type='FilterEmptyInstances', min_mask_area=1),
        dict(type='SampleInstances', max_num=16),
        dict(type='Sam3Resize', size=img_size),
        dict(type='mmdet.PackDetInputs', meta_keys=meta_keys),
    ]


def concept_pipelines(img_size, meta_keys, backend_args=None):
    """Concept (noun phrase / exemplar) image pairs (Stage 3: SA-Co, COCO as
    concepts): ``(train_pipeline, test_pipeline)``."""
    train = [
        dict(type='LoadImageFromFile', backend_args=backend_args),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
        # flip, then SAM3's square resize. No scale jitter: shrinking +
        # padding puts the teacher outside its input distribution, and
        # a random crop drops objects from a clip / a concept pair.
        dict(type='mmdet.RandomFlip', prob=0.5),
        dict(type='Sam3Resize', size=img_size),
        # maps the exemplar boxes with the same resize/flip as the image
        dict(type='PackConceptInputs', meta_keys=meta_keys),
    ]
    test = [
        dict(type='LoadImageFromFile', backend_args=backend_args),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
        # SAM3's processor: S x S, aspect ratio not kept (letterbox:
        # mmdet.Resize keep_ratio + PadBottomRight, resize_mode='letterbox')
        dict(type='Sam3Resize', size=img_size),
        dict(type='PackConceptInputs', meta_keys=meta_keys),
    ]
    return train, test


def video_pipelines(img_size, meta_keys=None):
    """Clips (Stage 2: SA-V / DAVIS; Stage 3: SA-Co/VEval):

    ``(train_pipeline, test_pipeline)``; ``meta_keys=None`` keeps
    PackVideoInputs' default keys.
    """
    pack = dict(type='PackVideoInputs')
    if meta_keys is not None:
        pack['meta_keys'] = meta_keys
    train = [
        dict(type='LoadVideoClip'),
        # the SAME random scale / flip / pad for every frame of a clip
        dict(
            type='mmcv.TransformBroadcaster',
            share_random_params=True,
            transforms=[
                # flip, then SAM3's square resize. No scale jitter:
                # shrinking + padding puts the teacher outside its input
                # distribution, and a random crop drops objects from a clip
                # / a concept pair.
                dict(type='mmdet.RandomFlip', prob=0.5),
                dict(type='Sam3Resize', size=img_size),
            ]),
        dict(pack),
    ]
    test = [
        dict(type='LoadVideoClip'),
        dict(
            type='mmcv.TransformBroadcaster',
            share_random_params=True,
            transforms=[
                # SAM3's processor: S x S, aspect ratio not kept (letterbox:
                # mmdet.Resize keep_ratio + PadBottomRight and
                # resize_mode='letterbox')
                dict(type='Sam3Resize', size=img_size),
            ]),
        dict(pack),
    ]
    return train, test
