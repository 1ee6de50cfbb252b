# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Frozen SAM3 video tracker (dense memory bank) from Hugging Face
transformers, used as the Stage 2 teacher."""
import os.path as osp
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor
from transformers import Sam3TrackerVideoConfig, Sam3TrackerVideoModel
from transformers.models.sam3_tracker_video import \
    Sam3TrackerVideoInferenceSession

from esam3.registry import MODELS
from ..hf_builder import build_hf_model

__all__ = [
    'Sam3VideoTeacher', 'build_sam3_video_tracker', 'tracker_heads_state_dict'
]

# the ViT trunk inside Sam3TrackerVideoModel; everything else = the "heads"
TRUNK_PREFIX = 'vision_encoder.backbone.'


def build_sam3_video_tracker(
        pretrained: Optional[str] = None,
        config: Optional[dict] = None) -> Sam3TrackerVideoModel:
    """``Sam3TrackerVideoModel`` from SAM3 weights (e.g. a local copy of
    ``facebook/sam3``, which holds the ViT trunk shared with the detector) or
    from a config dict (random weights; its own vision backbone).

    A local folder holding a ``tracker_video/`` sub-folder (a
    ``save_pretrained`` output, as written next to ``detector/`` and
    ``tracker/`` by ``tools/misc/make_random_sam3.py``) is read from there,
    so one folder serves the image and the video configs.
    """
    if isinstance(pretrained, str):
        sub = osp.join(osp.expanduser(pretrained), 'tracker_video')
        if osp.isdir(sub):
            pretrained = sub
    return build_hf_model(
        Sam3TrackerVideoModel,
        Sam3TrackerVideoConfig,
        pretrained=pretrained,
        config=config)


def tracker_heads_state_dict(tracker: Sam3TrackerVideoModel) -> dict:
    """State dict of a video tracker without its ViT trunk (neck kept)."""
    return {
        k: v
        for k, v in tracker.state_dict().items()
        if not k.startswith(TRUNK_PREFIX)
    }


@MODELS.register_module()
class Sam3VideoTeacher(BaseModule):
    """SAM3 video tracker with its dense memory bank, frozen.

    Tracking goes through transformers' own inference session
    (``Sam3TrackerVideoInferenceSession``): the first-frame prompts are
    added to frame 0 and the tracker runs frame by frame (streaming, or
    ``propagate_in_video_iterator`` over the whole clip), one object after
    the other, exactly as at deployment.

    Args:
        pretrained: hub id (in the local HF cache) or local folder with SAM3
            weights (``facebook/sam3`` layout).
        config: ``Sam3TrackerVideoConfig`` kwargs (tiny random teachers).
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 config: Optional[dict] = None) -> None:
        super().__init__()
        self.tracker = build_sam3_video_tracker(pretrained, config)
        vit_cfg = self.tracker.config.vision_config.backbone_config
        patch = vit_cfg.patch_size
        self.patch_size = int(patch if isinstance(patch, int) else patch[0])
        self.image_size = int(self.tracker.config.image_size)
        self.trunk_channels = int(vit_cfg.hidden_size)
        self.requires_grad_(False)
        self.eval()

    @property
    def trunk(self):
        """The SAM3 ViT trunk (``Sam3ViTModel``)."""
        return self.tracker.vision_encoder.backbone

    def train(self, mode: bool = True) -> 'Sam3VideoTeacher':
        """The teacher stays in eval mode whatever the caller asks."""
        return super().train(False)

    def heads_state_dict(self) -> dict:
        """Everything but the ViT trunk: what a student tracker copies."""
        return tracker_heads_state_dict(self.tracker)

    @torch.no_grad()
    def encode_trunk(self, pixel_values: Tensor) -> Tensor:
        """Normalised images ``[B, 3, S, S]`` -> trunk ``[B, C, S/14,
        S/14]``."""
        b, _, h, w = pixel_values.shape
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(f'SAM3 input {h}x{w} is not a multiple of the '
                             f'patch size {p}')
        tokens = self.trunk(pixel_values).last_hidden_state  # [B, N, C]
        return tokens.transpose(1, 2).reshape(b, -1, h // p, w // p)

    # ---------------------------------------------------------------- track
    def _new_session(self, frames: Optional[Tensor], size: Tuple[int, int],
                     device, dtype) -> Sam3TrackerVideoInferenceSession:
        return Sam3TrackerVideoInferenceSession(
            video=frames,
            video_height=size[0],
            video_width=size[1],
            inference_device=device,
            inference_state_device=device,
            video_storage_device=device,
            dtype=dtype)

    def _add_prompts(self, session: Sam3TrackerVideoInferenceSession,
                     masks: Optional[Tensor], points: Optional[Tensor],
                     labels: Optional[Tensor], boxes: Optional[Tensor]) -> int:
        """Register frame-0 prompts of every object (what
        ``Sam3TrackerVideoProcessor.add_inputs_to_inference_session`` does,
        without its pre-processing: inputs are already at model scale)."""
        if masks is not None:
            n = masks.shape[0]
            for obj in range(n):
                idx = session.obj_id_to_idx(obj)
                m = masks[obj].float()[None, None]
                if m.shape[-2:] != (self.image_size, self.image_size):
                    m = (torch.nn.functional.interpolate(
                        m,
                        size=(self.image_size, self.image_size),
                        mode='bilinear',
                        align_corners=False,
                        antialias=True) >= 0.5).float()
                session.add_mask_inputs(idx, 0, m)
            session.obj_with_new_inputs = list(range(n))
            return n
        if points is None and boxes is None:
            raise ValueError('track_clip needs first-frame masks, points or '
                             'boxes')
        n = (points if points is not None else boxes).shape[0]
        coords, lbls = [], []
        if boxes is not None:
            coords.append(boxes.float().reshape(n, 2, 2))
            lbls.append(torch.tensor([2, 3], device=boxes.device).repeat(n, 1))
        if points is not None:
            if labels is None:
                raise ValueError('points given without labels')
            coords.append(points.float())
            lbls.append(labels.long())
        coords = torch.cat(coords, dim=1)
        lbls = torch.cat(lbls, dim=1).int()
        for obj in range(n):
            idx = session.obj_id_to_idx(obj)
            session.add_point_inputs(
                idx, 0,
                dict(
                    point_coords=coords[obj][None, None],
                    point_labels=lbls[obj][None, None]))
        session.obj_with_new_inputs = list(range(n))
        return n

    def start_session(
        self,
        first_frame_masks: Optional[Tensor] = None,
        points: Optional[Tensor] = None,
        labels: Optional[Tensor] = None,
        boxes: Optional[Tensor] = None,
        device=None,
        dtype: torch.dtype = torch.float32
    ) -> Sam3TrackerVideoInferenceSession:
        """A streaming session with the objects prompted on its first frame
        (see :meth:`track_clip` for the prompt formats); feed frames with
        :meth:`track_frame`."""
        if device is None:
            given = [
                x for x in (first_frame_masks, points, boxes) if x is not None
            ]
            device = given[0].device if given else 'cpu'
        session = self._new_session(None, (self.image_size, self.image_size),
                                    device, dtype)
        self._add_prompts(session, first_frame_masks, points, labels, boxes)
        return session

    @torch.no_grad()
    def track_frame(self, session: Sam3TrackerVideoInferenceSession,
                    frame: Tensor) -> Tuple[Tensor, Tensor]:
        """Track one normalised frame ``[3, S, S]`` of a streaming session
        (transformers' ``model(session, frame=...)``).

        Returns:
            ``(mask_logits [N, 4h, 4w], object_score_logits [N])``.
        """
        # transformers' session stores its state in ``session.dtype`` and
        # concatenates it with new tensors; under an enclosing autocast (AMP
        # training) those come out in other dtypes and the concatenation
        # fails, so the frozen teacher tracks in the session's own dtype.
        with torch.autocast(device_type=frame.device.type, enabled=False):
            out = self.tracker(session, frame=frame.to(session.dtype))
        return out.pred_masks[:, 0], out.object_score_logits.reshape(-1)

    @torch.no_grad()
    def track_clip(self,
                   frames: Tensor,
                   first_frame_masks: Optional[Tensor] = None,
                   points: Optional[Tensor] = None,
                   labels: Optional[Tensor] = None,
                   boxes: Optional[Tensor] = None,
                   return_readout: bool = False,
                   streaming: bool = True) -> Dict[str, Tensor]:
        """Track the objects prompted on frame 0 through a clip.

        Args:
            frames: normalised frames ``[T, 3, S, S]``.
            first_frame_masks: bool ``[N, S', S']`` object masks on frame 0
                (resized to ``S`` when needed).
            points: ``[N, n, 2]`` xy clicks in input pixels (instead of
                masks), with ``labels`` ``[N, n]`` (1 pos, 0 neg, -10 pad).
            boxes: ``[N, 4]`` xyxy boxes in input pixels (instead of masks;
                combinable with points).
            return_readout: also return the memory-attention output of every
                tracked frame (``memory_readout`` ``[T - 1, N, C, h, w]``)
                for feature matching.
            streaming: feed the frames one by one (``model(session,
                frame=...)``, transformers' streaming mode, as an online
                tracker and the student run); object-pointer distances are
                then normalised by ``max_object_pointers_in_encoder - 1``
                like the student's bank. False: whole clip in the session
                and ``propagate_in_video_iterator`` (distances normalised by
                ``min(T, 16) - 1``).

        Returns:
            dict with ``mask_logits`` ``[T, N, 4h, 4w]`` (``h = S / 14``) and
            ``object_score_logits`` ``[T, N]`` (frame 0 = the prompt's
            answer; with a mask prompt, the mask itself as HF returns it).
        """
        if frames.dim() != 4:
            raise ValueError(f'frames must be [T, 3, S, S], got '
                             f'{tuple(frames.shape)}')
        if streaming:
            session = self.start_session(first_frame_masks, points, labels,
                                         boxes, frames.device, frames.dtype)
            n = session.get_obj_num()
        else:
            session = self._new_session(frames, tuple(frames.shape[-2:]),
                                        frames.device, frames.dtype)
            n = self._add_prompts(session, first_frame_masks, points, labels,
                                  boxes)
        readouts: List[Tensor] = []
        handle = None
        if return_readout:
            handle = self.tracker.memory_attention.register_forward_hook(
                lambda mod, args, out: readouts.append(out))
        masks, scores = [], []
        if streaming:
            outputs = (self.track_frame(session, frame) for frame in frames)
        else:
            outputs = ((o.pred_masks[:, 0], o.object_score_logits.reshape(n))
                       for o in self.tracker.propagate_in_video_iterator(
                           session, start_frame_idx=0))
        try:
            for m, sc in outputs:
                masks.append(m)  # [N, h, w]
                scores.append(sc)
        finally:
            if handle is not None:
                handle.remove()
        result = dict(
            mask_logits=torch.stack(masks).clone(),
            object_score_logits=torch.stack(scores).clone())
        if return_readout:
            result['memory_readout'] = self._readout_maps(
                readouts, len(masks), n)
        return result

    def _readout_maps(self, readouts: List[Tensor], t: int, n: int) -> Tensor:
        """Memory-attention outputs (one call per tracked frame and object,
        frame-major) -> ``[T - 1, N, C, h, w]``."""
        h, w = self.tracker.backbone_feature_sizes[-1]
        if len(readouts) != (t - 1) * n:
            raise RuntimeError(f'expected {(t - 1) * n} memory readouts, got '
                               f'{len(readouts)}')
        maps = [
            r.reshape(-1, h * w,
                      r.shape[-1]).transpose(1,
                                             2).reshape(-1, r.shape[-1], h, w)
            for r in readouts
        ]
        maps = torch.cat(maps)  # [(T-1)*N, C, h, w]
        return maps.reshape(t - 1, n, *maps.shape[1:]).clone()
