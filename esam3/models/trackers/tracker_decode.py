# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Batched mask decoding with the modules of ``Sam3TrackerVideoModel``.

transformers' ``Sam3TrackerVideoModel._single_frame_forward`` selects the
best of the multimask outputs with an indexing that is only right for a
batch of one (its session runs one object at a time). The student folds all
objects into the batch, so this glue calls the same transformers modules
(prompt encoder, mask decoder, object-pointer projection, mask
down-sampling conv) and selects per row with ``gather``. Numerically it
follows the transformers code path (verified against it in the tests).
"""
from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

# transformers' placeholder logit for masks of absent objects
NO_OBJ_SCORE = -1024.0


@dataclass
class DecodeOutput:
    """One decoded frame, objects folded into the batch ``B*``.

    Attributes:
        pred_masks: low-res mask logits ``[B*, 4h, 4w]`` (``h = S / 14``).
        high_res_masks: mask logits at the input size ``[B*, 1, S, S]``.
        object_pointer: ``[B*, C]``.
        object_score_logits: ``[B*]``.
    """
    pred_masks: Tensor
    high_res_masks: Tensor
    object_pointer: Tensor
    object_score_logits: Tensor


def _pick(x: Tensor, idx: Tensor) -> Tensor:
    """``x[b, 0, idx[b]]`` for ``x`` ``[B, 1, K, ...]``."""
    shape = (x.shape[0], 1, 1) + tuple(x.shape[3:])
    index = idx.view(-1, 1, 1, *([1] * (x.dim() - 3))).expand(*shape)
    return x.gather(2, index)[:, 0, 0]


def sam_decode(heads,
               image_embeddings: List[Tensor],
               points: Optional[Tensor] = None,
               labels: Optional[Tensor] = None,
               mask_prompt: Optional[Tensor] = None,
               multimask_output: bool = False) -> DecodeOutput:
    """Prompt encoder + mask decoder + object pointer for ``B*`` rows.

    Args:
        heads: a ``Sam3TrackerVideoModel`` (its trunk may be removed).
        image_embeddings: ``[feat_s0, feat_s1, feat]`` (``feat`` already
            memory-conditioned or with the no-memory embedding).
        points: ``[B*, 1, n, 2]`` input-pixel clicks, ``labels``
            ``[B*, 1, n]``; None = no click (an ignored point is padded, as
            transformers does).
        mask_prompt: ``[B*, 1, h, w]`` dense mask prompt, or None.
        multimask_output: decode 3 masks and keep the best predicted IoU.
    """
    emb = image_embeddings[-1]
    b = emb.shape[0]
    pos = heads.get_image_wide_positional_embeddings().repeat(b, 1, 1, 1)
    if points is None:
        points = emb.new_zeros(b, 1, 1, 2)
        labels = -torch.ones(b, 1, 1, dtype=torch.int32, device=emb.device)
    if mask_prompt is not None and \
            mask_prompt.shape[-2:] != heads.prompt_encoder.mask_input_size:
        mask_prompt = F.interpolate(
            mask_prompt.float(),
            size=heads.prompt_encoder.mask_input_size,
            mode='bilinear',
            align_corners=False,
            antialias=True)
    sparse, dense = heads.prompt_encoder(
        input_points=points,
        input_labels=labels,
        input_boxes=None,
        input_masks=mask_prompt)
    masks, iou, tokens, obj = heads.mask_decoder(
        image_embeddings=emb,
        image_positional_embeddings=pos,
        sparse_prompt_embeddings=sparse,
        dense_prompt_embeddings=dense,
        multimask_output=multimask_output,
        high_resolution_features=list(image_embeddings[:-1]))
    # masks [B*, 1, K, h, w], iou [B*, 1, K], tokens [B*, 1, K, C],
    # obj [B*, 1, 1]
    obj = obj.reshape(b)
    appearing = obj > 0
    masks = torch.where(
        appearing.view(b, 1, 1, 1, 1), masks, masks.new_tensor(NO_OBJ_SCORE))
    if multimask_output and masks.shape[2] > 1:
        best = iou[:, 0].argmax(-1)
        low, token = _pick(masks, best), _pick(tokens, best)
    else:
        low, token = masks[:, 0, 0], tokens[:, 0, 0]
    size = (heads.image_size, heads.image_size)
    high = F.interpolate(
        low[:, None].float(), size=size, mode='bilinear',
        align_corners=False).to(low.dtype)
    ptr = heads.object_pointer_proj(token)
    lam = appearing.to(ptr.dtype)[:, None]
    ptr = lam * ptr + (1 - lam) * heads.no_object_pointer
    return DecodeOutput(low, high, ptr, obj)


def mask_as_output(heads, fpn: List[Tensor], masks: Tensor) -> DecodeOutput:
    """Use prompt masks ``[B*, 1, H, W]`` (0/1) as the frame's answer.

    transformers' rule for mask prompts (``_use_mask_as_output``): logits
    +10 / -10, object present iff the mask is non-empty, and the object
    pointer decoded from the down-sampled mask on the raw frame features.
    """
    size = (heads.image_size, heads.image_size)
    m = masks.to(fpn[-1].dtype)
    if m.shape[-2:] != size:
        m = F.interpolate(
            m.float(),
            size=size,
            mode='bilinear',
            align_corners=False,
            antialias=True).to(m.dtype)
    high = m * 20.0 - 10.0
    low = F.interpolate(
        high.float(),
        size=heads.prompt_encoder.mask_input_size,
        mode='bilinear',
        align_corners=False,
        antialias=True).to(m.dtype)
    ptr = sam_decode(
        heads,
        fpn,
        mask_prompt=heads.mask_downsample(m),
        multimask_output=True).object_pointer
    appearing = (masks.flatten(1) > 0).any(1)
    lam = appearing.to(ptr.dtype)[:, None]
    ptr = lam * ptr + (1 - lam) * heads.no_object_pointer
    return DecodeOutput(low[:, 0], high, ptr, 20.0 * lam[:, 0] - 10.0)
