# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Exportable image encoder: the encoder up to the tracker's FPN levels."""
from typing import Tuple

from torch import Tensor, nn


class ImageEncoderOnnx(nn.Module):
    """Normalised pixels -> the three tracker image embeddings.

    Wraps an ``EfficientSAM3`` student or a ``Sam3Teacher`` (anything with
    ``encode_trunk`` and :class:`~esam3.models.heads.Sam3Heads` as
    ``heads``): the output is exactly
    ``heads.tracker_image_embeddings(encode_trunk(pixels))``, i.e. the
    ``image_embeddings`` the prompt decoder takes (high-resolution levels
    already projected by ``conv_s0`` / ``conv_s1``, no-memory embedding
    added to the last level). With a light-neck student the graph holds the
    backbone, the neck's shared top-down pass and its tracker levels only
    (the detector levels, which concept prompts need, are not exported);
    with a trunk-mode student or the teacher, SAM3's tracker neck (its
    three read levels). A Stage 2 ``Sam3VideoTrackerStudent`` (with
    ``frame_features``) gives its three raw neck levels instead, the input
    of its memory attention.

    Args:
        model: the promptable model.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        heads = getattr(model, 'heads', None)
        self.video_mode = not hasattr(heads, 'tracker_image_embeddings')
        if self.video_mode and not hasattr(model, 'frame_features'):
            raise TypeError(
                f'{type(model).__name__} has neither Sam3Heads '
                '(tracker_image_embeddings) nor frame_features: cannot '
                'export its image encoder')

    def forward(self, pixel_values: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Encode ``[B, 3, S, S]`` normalised pixels.

        Returns:
            ``(emb_s0 [B, C0, 4h, 4w], emb_s1 [B, C1, 2h, 2w],
            emb [B, C, h, w])`` with ``h = S / 14``.
        """
        trunk = self.model.encode_trunk(pixel_values)
        if self.video_mode:
            fpn, _ = self.model.frame_features(trunk)
        else:
            fpn = self.model.heads.tracker_image_embeddings(trunk)
        return fpn[0], fpn[1], fpn[2]
