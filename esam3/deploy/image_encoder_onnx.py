# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Exportable image encoder: the encoder up to the levels the heads read."""
from typing import Dict, List, Optional, Sequence, Tuple

from torch import Tensor, nn

# graph outputs per branch (the consumers' input names)
BRANCH_OUTPUTS = {
    'tracker': ('emb_s0', 'emb_s1', 'emb'),
    'detector': ('det_0', 'det_1', 'det_2'),
    'video': ('vid_s0', 'vid_s1', 'vid'),
}


def video_tracker_of(model: nn.Module) -> Optional[nn.Module]:
    """The student video tracker of a model: ``model.video`` (Stage 3), the
    model itself (a Stage 2 ``Sam3VideoTrackerStudent``) or None."""
    video = getattr(model, 'video', None)
    if video is not None:
        return video
    if hasattr(model, 'memory_bank') and hasattr(model, 'frame_features'):
        return model
    return None


def available_branches(model: nn.Module) -> List[str]:
    """Encoder branches a model can export (see :data:`BRANCH_OUTPUTS`)."""
    heads = getattr(model, 'heads', None)
    out = []
    if hasattr(heads, 'tracker_image_embeddings'):
        out.append('tracker')
    if hasattr(heads, 'detector_features') and \
            getattr(heads, 'detector', None) is not None:
        out.append('detector')
    if video_tracker_of(model) is not None:
        out.append('video')
    return out


class ImageEncoderOnnx(nn.Module):
    """Normalised pixels -> the feature levels the exported heads read.

    Wraps an ``EfficientSAM3`` student or a ``Sam3Teacher`` (anything with
    ``encode_trunk`` and :class:`~esam3.models.heads.Sam3Heads` as
    ``heads``) and/or a Stage 2 ``Sam3VideoTrackerStudent``. One encoder
    pass feeds every branch asked for:

    * ``'tracker'``: ``heads.tracker_image_embeddings`` (the prompt
      decoder's ``emb_s0, emb_s1, emb``: high-resolution levels projected by
      ``conv_s0`` / ``conv_s1``, no-memory embedding added);
    * ``'detector'``: ``heads.neck_levels(..., 'detector')`` (the concept
      decoder's ``det_0..2``);
    * ``'video'``: the video tracker's ``frame_features`` (the tracker
      step's ``vid_s0, vid_s1, vid``).

    With a light-neck student only the branches asked for are in the graph
    (a box-only export holds no detector level).

    Args:
        model: the model.
        branches: branches to output (default: all the model has).
    """

    def __init__(self,
                 model: nn.Module,
                 branches: Optional[Sequence[str]] = None) -> None:
        super().__init__()
        self.model = model
        have = available_branches(model)
        if not have:
            raise TypeError(
                f'{type(model).__name__} has neither Sam3Heads nor a video '
                'tracker (frame_features): cannot export its image encoder')
        branches = list(branches or have)
        missing = [b for b in branches if b not in have]
        if missing:
            raise ValueError(f'{type(model).__name__} has no {missing} '
                             f'branch (it has {have})')
        self.branches = [b for b in BRANCH_OUTPUTS if b in branches]

    @property
    def output_names(self) -> List[str]:
        return [n for b in self.branches for n in BRANCH_OUTPUTS[b]]

    def forward(self, pixel_values: Tensor) -> Tuple[Tensor, ...]:
        """Encode ``[1, 3, S, S]`` normalised pixels into :attr:`output_names`
        (three ``[1, C_i, H_i, W_i]`` maps per branch)."""
        trunk = self.model.encode_trunk(pixel_values)
        outs: Dict[str, List[Tensor]] = {}
        heads = getattr(self.model, 'heads', None)
        for branch in self.branches:
            if branch == 'tracker':
                outs[branch] = heads.tracker_image_embeddings(trunk)
            elif branch == 'detector':
                outs[branch] = heads.neck_levels(trunk, 'detector')
            else:
                outs[branch] = video_tracker_of(
                    self.model).frame_features(trunk)[0]
        return tuple(x for b in self.branches for x in outs[b])
