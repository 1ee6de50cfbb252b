# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Normalisation shared by training, testing, inference APIs and export.

``Sam3DataPreprocessor`` turns the packed uint8 samples of esam3's pipelines
(images ``[3, S, S]`` or clips ``[T, 3, S, S]``, BGR) into float batches
(``[B, 3, S, S]`` / ``[B, T, 3, S, S]``, RGB, ``(x - mean) / std``).
:func:`preprocess_image` is the deployment path for one raw image: it runs
the very transforms of the test pipeline (:func:`resize_transforms`: by
default SAM3's own square resize :class:`~esam3.datasets.transforms.
Sam3Resize`, or optionally a letterbox = mmdet ``Resize`` with
``keep_ratio`` + ``PadBottomRight``) and then :func:`normalize_images`, the
function the data preprocessor itself uses, so training, evaluation and
deployment cannot drift apart (the train/deploy normalisation mismatch of
the public EfficientSAM3 code).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor
from torch import Tensor

from esam3.registry import MODELS

SAM3_MEAN = (127.5, 127.5, 127.5)
SAM3_STD = (127.5, 127.5, 127.5)
# 'square': SAM3's processor (every image to S x S, aspect ratio not kept);
# 'letterbox': longer side to S keeping the aspect ratio, pad bottom/right
RESIZE_MODES = ('square', 'letterbox')


def check_resize_mode(resize_mode: str) -> str:
    """Validate a ``resize_mode`` (``'square'`` or ``'letterbox'``)."""
    if resize_mode not in RESIZE_MODES:
        raise ValueError(f'resize_mode must be one of {RESIZE_MODES}, got '
                         f'{resize_mode!r}')
    return resize_mode


def resize_transforms(size: int,
                      resize_mode: str = 'square',
                      pad_value: float = 0.) -> List[dict]:
    """Test-time resize steps of a pipeline (configs and deployment).

    Args:
        size (int): Model input size ``S``.
        resize_mode (str): ``'square'`` (default, SAM3's processor:
            :class:`~esam3.datasets.transforms.Sam3Resize`) or
            ``'letterbox'`` (mmdet ``Resize`` keeping the aspect ratio to the
            longer side ``S``, then ``PadBottomRight`` to ``S x S``).
        pad_value (float): Raw pixel value of the letterbox padding.

    Returns:
        list[dict]: Transform configs (esam3 / mmdet registry types).
    """
    if check_resize_mode(resize_mode) == 'square':
        return [dict(type='Sam3Resize', size=size)]
    return [
        dict(type='mmdet.Resize', scale=(size, size), keep_ratio=True),
        dict(
            type='PadBottomRight',
            size=size,
            pad_val=dict(img=pad_value, masks=0, seg=255)),
    ]


def normalize_images(images: Tensor,
                     mean: Tensor,
                     std: Tensor,
                     bgr_to_rgb: bool = True) -> Tensor:
    """``[..., 3, H, W]`` uint8/float pixels -> float ``(x - mean) / std``.

    Args:
        images (Tensor): Pixels with the channel axis third from last.
        mean (Tensor): Per-channel mean, shape ``[3]`` or ``[3, 1, 1]``.
        std (Tensor): Per-channel std, same shape as ``mean``.
        bgr_to_rgb (bool): Reverse the channel order first. Defaults to True.

    Returns:
        Tensor: float32 normalised images, same shape.
    """
    if images.dim() < 3 or images.shape[-3] != 3:
        raise ValueError('expected [..., 3, H, W] images, got shape '
                         f'{tuple(images.shape)}')
    if bgr_to_rgb:
        images = images.flip(-3)
    images = images.float()
    mean = mean.reshape(3, 1, 1).to(images)
    std = std.reshape(3, 1, 1).to(images)
    return (images - mean) / std


def pad_bottom_right(images: Tensor,
                     size: Tuple[int, int],
                     value: float = 0.) -> Tensor:
    """Pad ``[..., H, W]`` at the bottom/right to ``size`` = (h, w)."""
    h, w = images.shape[-2:]
    if h > size[0] or w > size[1]:
        raise ValueError(f'input {h}x{w} is larger than the pad size '
                         f'{size[0]}x{size[1]}')
    if (h, w) == tuple(size):
        return images
    return F.pad(images, (0, size[1] - w, 0, size[0] - h), value=value)


@MODELS.register_module()
class Sam3DataPreprocessor(ImgDataPreprocessor):
    """Stack, pad, BGR->RGB and normalise esam3 image or video samples.

    Accepts ``inputs`` as a list (``pseudo_collate``) or a stacked tensor of
    images ``[3, H, W]`` or clips ``[T, 3, H, W]`` (uint8 from the
    pipelines) and returns float ``[B, 3, S, S]`` or ``[B, T, 3, S, S]``.
    Samples smaller than the batch size (or ``pad_size``) are padded at the
    bottom/right with ``pad_value`` in RAW pixel units (before
    normalisation), exactly like ``PadBottomRight`` in the pipelines. Data
    samples are moved to the device (``cast_data``) and get
    ``batch_input_shape`` in their metainfo.

    Args:
        mean (Sequence[float]): Per-channel mean (RGB order, applied after
            the channel flip). Defaults to 127.5 each (SAM3: 0.5 of 255).
        std (Sequence[float]): Per-channel std. Defaults to 127.5 each.
        bgr_to_rgb (bool): Flip BGR (mmcv loading) to RGB. Defaults to True.
        pad_size (int | tuple, optional): Pad every sample to this square
            ``S`` (or ``(h, w)``). None pads to the largest in the batch.
        pad_value (float): Raw pixel value for padding. Defaults to 0.
        resize_mode (str): How the pipelines bring images to ``S x S``
            (``'square'``, SAM3's processor, or ``'letterbox'``). Not used
            here (the pipelines resize); the inference APIs and the export
            read it from the config so deployment resizes like the
            pipelines. Defaults to ``'square'``.
        non_blocking (bool): Non-blocking device transfer.
    """

    def __init__(self,
                 mean: Sequence[float] = SAM3_MEAN,
                 std: Sequence[float] = SAM3_STD,
                 bgr_to_rgb: bool = True,
                 pad_size: Optional[Union[int, Tuple[int, int]]] = None,
                 pad_value: float = 0.,
                 resize_mode: str = 'square',
                 non_blocking: bool = False) -> None:
        if len(mean) != 3 or len(std) != 3:
            raise ValueError('mean and std need 3 values (one per channel)')
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=1,
            pad_value=pad_value,
            bgr_to_rgb=bgr_to_rgb,
            non_blocking=non_blocking)
        if isinstance(pad_size, int):
            pad_size = (pad_size, pad_size)
        self.pad_size = tuple(pad_size) if pad_size is not None else None
        self.bgr_to_rgb = bgr_to_rgb
        self.resize_mode = check_resize_mode(resize_mode)

    def normalize(self, images: Tensor) -> Tensor:
        """Channel flip + ``(x - mean) / std`` with this module's settings.

        Args:
            images (Tensor): ``[..., 3, H, W]`` pixels.

        Returns:
            Tensor: float32 normalised pixels.
        """
        return normalize_images(images, self.mean, self.std, self.bgr_to_rgb)

    def _target_size(self, inputs: List[Tensor]) -> Tuple[int, int]:
        if self.pad_size is not None:
            return self.pad_size
        return (max(int(x.shape[-2])
                    for x in inputs), max(int(x.shape[-1]) for x in inputs))

    def forward(self, data: dict, training: bool = False) -> dict:
        """Build the model batch.

        Args:
            data (dict): ``inputs`` (list or stacked tensor) and optional
                ``data_samples``.
            training (bool): Unused (no batch augmentation).

        Returns:
            dict: ``inputs`` float ``[B, 3, S, S]`` / ``[B, T, 3, S, S]`` and
            ``data_samples`` on the device.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, Tensor):
            if inputs.dim() not in (4, 5):
                raise ValueError('stacked inputs must be [B, 3, H, W] or '
                                 f'[B, T, 3, H, W], got {tuple(inputs.shape)}')
            inputs = list(inputs)
        if len(inputs) == 0:
            raise ValueError('empty batch')
        dims = {x.dim() for x in inputs}
        if len(dims) != 1 or dims.pop() not in (3, 4):
            raise ValueError('every input must be [3, H, W] (image) or '
                             '[T, 3, H, W] (clip), got shapes '
                             f'{[tuple(x.shape) for x in inputs]}')
        size = self._target_size(inputs)
        padded = [pad_bottom_right(x, size, self.pad_value) for x in inputs]
        if len({tuple(x.shape) for x in padded}) != 1:
            raise ValueError('clips of different lengths in one batch: '
                             f'{[tuple(x.shape) for x in inputs]}')
        batch = self.normalize(torch.stack(padded))
        samples = data.get('data_samples')
        if samples is not None:
            for sample in samples:
                frames = getattr(sample, 'video_data_samples', None)
                for s in (frames if frames is not None else [sample]):
                    s.set_metainfo(dict(batch_input_shape=size))
        return dict(inputs=batch, data_samples=samples)


def preprocess_image(img_bgr_uint8: np.ndarray,
                     size: int,
                     mean: Sequence[float] = SAM3_MEAN,
                     std: Sequence[float] = SAM3_STD,
                     pad_value: float = 0.,
                     resize_mode: str = 'square') -> Tuple[Tensor, Dict]:
    """Deployment preprocessing of one image (same code as the test path).

    Runs :func:`resize_transforms` (by default SAM3's square resize to
    ``S x S``, bilinear + antialias, aspect ratio not kept, exactly
    transformers' ``Sam3ImageProcessor``; or a letterbox), converts to a
    ``[3, S, S]`` tensor as ``PackDetInputs`` does and normalises with
    :func:`normalize_images` (BGR->RGB, ``(x - mean) / std``).

    Args:
        img_bgr_uint8 (np.ndarray): ``[H, W, 3]`` uint8 BGR image.
        size (int): Model input size ``S``.
        mean (Sequence[float]): RGB mean. Defaults to 127.5 each.
        std (Sequence[float]): RGB std. Defaults to 127.5 each.
        pad_value (float): Raw pixel value of the letterbox padding.
            Defaults to 0.
        resize_mode (str): ``'square'`` (default) or ``'letterbox'``.

    Returns:
        tuple[Tensor, dict]: float32 ``[1, 3, S, S]`` and the meta
        ``ori_shape``, ``img_shape``, ``pad_shape`` (h, w) and
        ``scale_factor`` (w_scale, h_scale: per axis in square mode).
    """
    import esam3.datasets.transforms  # noqa: F401 (registers transforms)
    from esam3.registry import TRANSFORMS
    img = np.asarray(img_bgr_uint8)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError('expected an HxWx3 uint8 BGR image, got '
                         f'{img.dtype} {img.shape}')
    results = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
    for cfg in resize_transforms(size, resize_mode, pad_value):
        results = TRANSFORMS.build(cfg)(results)
    pixels = torch.from_numpy(np.ascontiguousarray(results['img'])).permute(
        2, 0, 1)
    tensor = normalize_images(
        pixels[None], torch.tensor(mean), torch.tensor(std), bgr_to_rgb=True)
    meta = dict(
        ori_shape=tuple(img.shape[:2]),
        img_shape=tuple(results['img_shape'][:2]),
        pad_shape=tuple(results['pad_shape'][:2]),
        scale_factor=tuple(results['scale_factor']))
    return tensor, meta
