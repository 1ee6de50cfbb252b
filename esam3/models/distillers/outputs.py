# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Map decoder outputs back to the original image."""
import torch
import torch.nn.functional as F
from torch import Tensor


def paste_masks_to_original(logits: Tensor, metainfo: dict,
                            input_size: int) -> Tensor:
    """Low-res mask logits ``[N, h, w]`` of the padded ``input_size`` square
    -> bool masks ``[N, H_ori, W_ori]``.

    Upsamples to the padded input, crops the padding away (``img_shape``),
    undoes a horizontal flip, and resizes to ``ori_shape``.
    """
    ori_h, ori_w = metainfo['ori_shape'][:2]
    if logits.shape[0] == 0:
        return torch.zeros(
            0, ori_h, ori_w, dtype=torch.bool, device=logits.device)
    img_h, img_w = metainfo.get('img_shape', (input_size, input_size))[:2]
    x = F.interpolate(
        logits[:, None].float(),
        size=(input_size, input_size),
        mode='bilinear',
        align_corners=False)
    x = x[..., :img_h, :img_w]
    if metainfo.get('flip', False):
        direction = metainfo.get('flip_direction', 'horizontal')
        if direction != 'horizontal':
            raise NotImplementedError(f'flip {direction} at test time')
        x = x.flip(-1)
    x = F.interpolate(
        x, size=(ori_h, ori_w), mode='bilinear', align_corners=False)
    return x[:, 0] > 0


def boxes_to_original(boxes: Tensor, meta: dict, size: int) -> Tensor:
    """Normalised xyxy of the padded input -> original-image pixels."""
    boxes = boxes * size
    sx, sy = meta.get('scale_factor', (1.0, 1.0))[:2]
    if meta.get('flip', False):
        w = meta['img_shape'][1]
        boxes = torch.stack(
            [w - boxes[:, 2], boxes[:, 1], w - boxes[:, 0], boxes[:, 3]],
            dim=1)
    boxes = boxes / boxes.new_tensor([sx, sy, sx, sy])
    h, w = meta['ori_shape'][:2]
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
    return boxes
