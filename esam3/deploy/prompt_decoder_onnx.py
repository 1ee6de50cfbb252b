# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Exportable SAM3 prompt decoder (prompt encoder + mask decoder)."""
from typing import Tuple

import torch
from torch import Tensor, nn


class PromptDecoderOnnx(nn.Module):
    """Points (boxes as corner points) [+ mask prompts] -> masks.

    The graph runs the transformers SAM3 tracker's own prompt encoder and
    mask decoder. Each prompt is one row of the batch (as
    :class:`~esam3.apis.ImagePredictor` does for mask prompts), so the
    number of prompts ``P`` and of points per prompt ``n`` are dynamic
    axes. A mask prompt is selected by the ``has_mask_input`` flag, as in
    SAM's ONNX decoder: the dense prompt embedding is
    ``has * mask_embed(mask_input) + (1 - has) * no_mask_embed``.

    Args:
        tracker: a ``Sam3TrackerModel`` / ``Sam3TrackerVideoModel`` (e.g.
            ``Sam3Heads.tracker``), in eval mode.
        multimask_output: export the 3-candidate output (``True``) or the
            single-mask output (SAM's stability-based choice, ``False``).
    """

    def __init__(self, tracker: nn.Module, multimask_output: bool) -> None:
        super().__init__()
        self.tracker = tracker
        self.multimask_output = bool(multimask_output)

    def forward(self, emb_s0: Tensor, emb_s1: Tensor, emb: Tensor,
                points: Tensor, labels: Tensor, mask_input: Tensor,
                has_mask_input: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Decode ``P`` prompts on one image.

        Args:
            emb_s0, emb_s1, emb: image embeddings ``[1, C_i, H_i, W_i]``.
            points: ``[P, n, 2]`` (x, y) in input pixels of the padded
                image; boxes are two corners with labels 2 / 3.
            labels: int64 ``[P, n]``: 1 / 0 clicks, 2 / 3 box corners,
                -10 padding.
            mask_input: ``[P or 1, 1, 4h, 4w]`` mask-logit prompts
                (ignored unless ``has_mask_input`` is 1).
            has_mask_input: float ``[1]``, 1 to use ``mask_input``.

        Returns:
            ``(mask logits [P, K, 4h, 4w], iou scores [P, K], object score
            logits [P, 1])``, ``K = 3`` or 1.
        """
        num = points.shape[0]
        encoder = self.tracker.prompt_encoder
        sparse, dense_mask = encoder(
            input_points=points[:, None],
            input_labels=labels[:, None],
            input_boxes=None,
            input_masks=mask_input)
        no_mask = encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
        has = has_mask_input.reshape(1, 1, 1, 1).to(dense_mask.dtype)
        dense = has * dense_mask + (1 - has) * no_mask
        image_pe = self.tracker.get_image_wide_positional_embeddings()
        masks, iou, _, obj = self.tracker.mask_decoder(
            image_embeddings=emb.expand(num, -1, -1, -1),
            image_positional_embeddings=image_pe.expand(num, -1, -1, -1),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=self.multimask_output,
            high_resolution_features=[emb_s0, emb_s1])
        return masks[:, 0], iou[:, 0], obj[:, 0]


def dummy_decoder_inputs(embeddings,
                         num_prompts: int = 2,
                         num_points: int = 3,
                         img_size: int = 224):
    """Example inputs of :class:`PromptDecoderOnnx` (for tracing)."""
    emb_s0, emb_s1, emb = embeddings
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(num_prompts, num_points, 2, generator=gen) * img_size
    labels = torch.ones(num_prompts, num_points, dtype=torch.long)
    h, w = emb_s0.shape[-2:]
    mask_input = torch.zeros(num_prompts, 1, h, w)
    has_mask = torch.zeros(1)
    return emb_s0, emb_s1, emb, points, labels, mask_input, has_mask
