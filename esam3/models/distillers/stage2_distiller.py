# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Stage 2: temporal memory distillation on video clips (EdgeTAM-style
Perceiver memory, SAM3 video tracker as the teacher)."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from esam3.models.trackers.sam3_video_tracker_student import (
    ABSENT_MASK_LOGIT, hide_absent)
from esam3.registry import MODELS
from ..losses.mmdet_loss_cfgs import (mmdet_bce_loss, mmdet_dice_loss,
                                      mmdet_focal_loss)
from ..necks.neck_levels import NeckLevels
from .base_distiller import BaseDistiller, check_predict_with
from .clip_targets import clip_gt_masks, clip_objects, frame_samples
from .outputs import paste_masks_to_original


@MODELS.register_module()
class Stage2Distiller(BaseDistiller):
    """Distil the SAM3 dense-memory tracker into a Perceiver-memory student.

    Per clip (frames ``[T, 3, S, S]``), the objects visible on frame 0 (at
    most ``max_objects``) are prompted with their GT masks on frame 0. The
    frozen teacher (:class:`Sam3VideoTeacher`) tracks them with its dense
    memory bank (no grad); the student (:class:`Sam3VideoTrackerStudent`)
    tracks them differentiably with its compressed bank. On every tracked
    frame ``t >= 1``::

        L = Dice(m_S, m_T > 0) + Focal(m_S, m_T > 0)
            + BCE(o_S, o_T > 0)                  # object-score / presence
            [+ Dice/Focal(m_S, GT)]              # optional task loss
            [+ MSE(readout_S, readout_T)]        # optional feature match

    ``readout`` is the memory-attention output (the memory-conditioned
    frame features fed to the mask decoder), exposed by both trackers.

    ``predict`` runs semi-supervised VOS on whole videos: each object is
    prompted with its GT mask on the first frame it appears in and
    propagated with the student; masks are pasted back to the original
    resolution as ``pred_track_masks`` with ``gt_track_masks`` (from the
    per-frame ``gt_rles``) for :class:`~esam3.evaluation.VOSMetric`.

    Args:
        student: config of the student tracker.
        teacher: config of the frozen teacher tracker.
        data_preprocessor: video data preprocessor config.
        loss_dice: Dice loss on mask logits vs teacher masks.
        loss_focal: focal loss on mask logits vs teacher masks.
        loss_score: BCE on object-score logits vs teacher presence.
        loss_task_dice: optional Dice loss vs GT masks.
        loss_task_focal: optional focal loss vs GT masks.
        loss_readout: optional feature-match loss on the memory readout
            (e.g. ``dict(type='MaskedMSELoss')``).
        level_loss_weights: optional weights of a feature loss between the
            FPN levels the student's encoder makes for the tracker (light
            neck, its ``level_branch``) and the teacher tracker's neck levels,
            per level (finest first), each MSE divided by the teacher level's
            variance. Needs a trainable encoder (``freeze_trunk=False``; e.g.
            backbone frozen, light neck trained): it teaches a video-tracker
            branch that Stage 1 never saw (the tiny models' ``'video'``
            branch).
        max_objects: objects tracked per training clip.
        init_student_heads_from_teacher: copy the teacher's tracker heads
            into the student (strict).
        predict_with: ``'student'`` (default) or ``'teacher'``: which
            tracker ``predict`` runs, so the teacher is evaluated on the
            same data with the same metric (e.g. a fine-tuned proxy
            teacher, ``--cfg-options model.predict_with=teacher``).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 student: dict,
                 teacher: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 loss_dice: dict = mmdet_dice_loss(1.0),
                 loss_focal: dict = mmdet_focal_loss(20.0),
                 loss_score: dict = mmdet_bce_loss(1.0),
                 loss_task_dice: Optional[dict] = None,
                 loss_task_focal: Optional[dict] = None,
                 loss_readout: Optional[dict] = None,
                 level_loss_weights: Optional[Sequence[float]] = None,
                 max_objects: int = 8,
                 init_student_heads_from_teacher: bool = True,
                 predict_with: str = 'student',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(student, teacher, data_preprocessor,
                         init_student_heads_from_teacher, init_cfg)
        self.predict_with = check_predict_with(predict_with, self.teacher)
        self.loss_dice = MODELS.build(loss_dice)
        self.loss_focal = MODELS.build(loss_focal)
        self.loss_score = MODELS.build(loss_score)
        self.loss_task_dice = MODELS.build(loss_task_dice) \
            if loss_task_dice else None
        self.loss_task_focal = MODELS.build(loss_task_focal) \
            if loss_task_focal else None
        self.loss_readout = MODELS.build(loss_readout) \
            if loss_readout else None
        self.level_loss_weights = None if level_loss_weights is None \
            else [float(w) for w in level_loss_weights]
        self.max_objects = max_objects

    @torch.no_grad()
    def copy_teacher_heads(self) -> None:
        """Initialise the student's tracker heads from the teacher's
        (everything but the ViT trunk), strictly."""
        self.student.load_heads(self.teacher.heads_state_dict())

    # ------------------------------------------------------------- inputs
    def _teacher_targets(self, inputs: Tensor, gt: Tensor,
                         valid: Tensor) -> Dict[str, Tensor]:
        """Teacher tracking of every clip, padded like the student's."""
        want_readout = self.loss_readout is not None
        outs = []
        for i in range(inputs.shape[0]):
            n = int(valid[i].sum())
            outs.append(
                self.teacher.track_clip(
                    inputs[i], gt[
                        i, 0, :n], return_readout=want_readout) if n else None)
        ref = next(o for o in outs if o is not None)
        b, n = valid.shape
        result = {}
        for key, val in ref.items():
            full = val.new_zeros((b, val.shape[0], n) + val.shape[2:])
            for i, o in enumerate(outs):
                if o is not None:
                    full[i, :, :o[key].shape[1]] = o[key]
            result[key] = full
        return result

    # --------------------------------------------------------------- loss
    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        if inputs.dim() != 5:
            raise ValueError('Stage2Distiller expects clips [B, T, 3, S, S],'
                             f' got {tuple(inputs.shape)}')
        gt, valid = clip_objects(inputs, data_samples, self.max_objects)
        t = inputs.shape[1]
        if not valid.any() or t < 2:
            anchor = sum(p.sum() * 0 for p in self.student.parameters()
                         if p.requires_grad)
            return dict(loss_dice=anchor)
        with torch.no_grad():
            target = self._teacher_targets(inputs, gt, valid)
        s_out = self.student.forward_clip(
            inputs,
            gt[:, 0].float(),
            return_readout=self.loss_readout is not None)
        # tracked frames only: frame 0 is the prompt itself
        sel = valid[:, None].expand(-1, t - 1, -1)  # [B, T-1, N]
        s_masks = s_out['mask_logits'][:, 1:][sel]
        t_masks = (target['mask_logits'][:, 1:][sel] > 0).float()
        s_score = s_out['object_score_logits'][:, 1:][sel]
        t_score = (target['object_score_logits'][:, 1:][sel] > 0).float()
        losses = dict(
            loss_dice=self.loss_dice(s_masks, t_masks),
            loss_focal=self.loss_focal(s_masks, t_masks),
            loss_score=self.loss_score(s_score, t_score))
        if self.loss_task_dice is not None or \
                self.loss_task_focal is not None:
            h, w = s_masks.shape[-2:]
            gt_low = F.interpolate(
                gt[:, 1:].flatten(0, 2)[:, None].float(),
                size=(h, w),
                mode='area')[:, 0].view(gt.shape[0], t - 1, -1, h, w)
            gt_low = (gt_low[sel] > 0.5).float()
            if self.loss_task_dice is not None:
                losses['loss_task_dice'] = self.loss_task_dice(s_masks, gt_low)
            if self.loss_task_focal is not None:
                losses['loss_task_focal'] = self.loss_task_focal(
                    s_masks, gt_low)
        if self.level_loss_weights is not None:
            losses.update(self.level_losses(inputs.flatten(0, 1)))
        if self.loss_readout is not None:
            s_read = s_out['memory_readout'][sel]  # [M, C, h, w]
            t_read = target['memory_readout'][sel]
            losses['loss_readout'] = self.loss_readout(s_read, t_read)
        return losses

    def level_losses(self, frames: Tensor) -> Dict[str, Tensor]:
        """Normalised MSE between the student's tracker levels and the teacher
        tracker neck's levels on ``frames`` ``[N, 3, S, S]``."""
        feats = self.student.encode_trunk(frames)
        if not isinstance(feats, NeckLevels):
            raise TypeError('level_loss_weights needs a light-neck student '
                            '(an encoder making NeckLevels)')
        s_levels = feats.levels(self.student.level_branch)
        with torch.no_grad():
            t_trunk = self.teacher.encode_trunk(frames)
            neck = self.teacher.tracker.vision_encoder.neck
            t_levels = [
                layer(t_trunk)
                for layer in neck.fpn_layers[:len(self.level_loss_weights)]
            ]
        losses = {}
        for i, (w, s, t) in enumerate(
                zip(self.level_loss_weights, s_levels, t_levels)):
            if s.shape != t.shape:
                raise ValueError(f'tracker level {i}: student '
                                 f'{tuple(s.shape)} vs teacher '
                                 f'{tuple(t.shape)}')
            losses[f'loss_level{i}'] = w * F.mse_loss(s, t) / \
                t.var().clamp(min=1e-12)
        return losses

    # ------------------------------------------------------------ predict
    @torch.no_grad()
    def track_video(self, frames: Tensor, gt: Tensor) -> Tensor:
        """Semi-supervised VOS with the student on one video.

        Args:
            frames: normalised ``[T, 3, S, S]``.
            gt: bool ``[T, N, S, S]``; object ``n`` is prompted with its mask
                on the first frame where it is non-empty (objects starting
                on the same frame are tracked together, one pass per start
                frame).

        Returns:
            Mask logits ``[T, N, 4h, 4w]`` (``h = S / 14``); -1024 before an
            object's first frame and for never-visible objects.
        """
        t, n = gt.shape[:2]
        if self.predict_with == 'teacher':
            return self._teacher_track_video(frames, gt)
        student = self.student
        visible = gt.flatten(2).any(-1)  # [T, N]
        starts = {}
        for obj in range(n):
            idx = visible[:, obj].nonzero()
            if idx.numel():
                starts.setdefault(int(idx[0, 0]), []).append(obj)
        out = frames.new_full((t, n, *student.mask_size), ABSENT_MASK_LOGIT)
        for start, objs in sorted(starts.items()):
            state = student.init_state()
            prompt = dict(masks=gt[start, objs][None].float())
            for i in range(start, t):  # frames encoded on the fly
                logits, _, state = student.step(frames[i:i + 1], state,
                                                prompt if i == start else None)
                out[i, objs] = logits[0]
        student.memory_bank.reset()
        return out

    def _teacher_track_video(self, frames: Tensor, gt: Tensor) -> Tensor:
        """:meth:`track_video` with the teacher's dense-memory tracker (same
        prompts: each object's GT mask on its first visible frame)."""
        t, n = gt.shape[:2]
        visible = gt.flatten(2).any(-1)
        starts = {}
        for obj in range(n):
            idx = visible[:, obj].nonzero()
            if idx.numel():
                starts.setdefault(int(idx[0, 0]), []).append(obj)
        out = None
        for start, objs in sorted(starts.items()):
            res = self.teacher.track_clip(frames[start:], gt[start, objs])
            logits = hide_absent(res['mask_logits'],
                                 res['object_score_logits'])
            if out is None:
                out = frames.new_full((t, n) + logits.shape[-2:],
                                      ABSENT_MASK_LOGIT)
            out[start:, objs] = logits
        if out is None:  # no object visible anywhere
            size = frames.shape[-1] // self.teacher.patch_size * 4
            out = frames.new_full((t, n, size, size), ABSENT_MASK_LOGIT)
        return out

    @staticmethod
    def _gt_original(frame_metas: List[dict], gt: Tensor, size: int) -> Tensor:
        """GT ``[T, N, H_ori, W_ori]`` from per-frame ``gt_rles`` when the
        pipeline kept them, else the packed masks pasted back."""
        from esam3.evaluation.metrics.utils import decode_rles
        masks = []
        for meta, g in zip(frame_metas, gt):
            rles = meta.get('gt_rles')
            if rles is not None and len(rles) == g.shape[0]:
                masks.append(
                    torch.from_numpy(decode_rles(rles, meta['ori_shape'][:2])))
            else:
                masks.append(
                    paste_masks_to_original(g.float() * 20 - 10, meta,
                                            size).cpu())
        return torch.stack(masks)

    def predict(self, inputs: Tensor, data_samples) -> list:
        """Track every video of the batch from its first-frame GT masks.

        Sets ``pred_track_masks`` / ``gt_track_masks`` (bool ``[T, N, H,
        W]`` at the original resolution) on each ``TrackDataSample``.
        """
        size = tuple(inputs.shape[-2:])
        for frames, sample in zip(inputs, data_samples):
            gt = clip_gt_masks(sample, size, inputs.device)
            logits = self.track_video(frames, gt)
            metas = [ds.metainfo for ds in frame_samples(sample)]
            pred = torch.stack([
                paste_masks_to_original(lg, meta, size[0]).cpu()
                for lg, meta in zip(logits, metas)
            ])
            sample.pred_track_masks = pred
            sample.gt_track_masks = self._gt_original(metas, gt,
                                                      size[0]).bool()
            if 'video_id' not in sample.metainfo:
                sample.set_metainfo(dict(video_id=metas[0].get('video_id')))
        return list(data_samples)

    def _forward(self, inputs: Tensor, data_samples=None):
        """Raw student tracking of clips prompted with frame-0 GT masks."""
        gt, _ = clip_objects(inputs, data_samples, self.max_objects)
        return self.student.forward_clip(inputs, gt[:, 0].float())
