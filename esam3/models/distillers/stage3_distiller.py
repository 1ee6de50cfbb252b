# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Stage 3: end-to-end promptable concept segmentation (PCS) fine-tuning."""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from torch import Tensor
from torchvision.ops import box_convert, masks_to_boxes

from esam3.registry import MODELS, TASK_UTILS
from ..losses.mmdet_loss_cfgs import (mmdet_bce_loss, mmdet_dice_loss,
                                      mmdet_focal_loss, mmdet_giou_loss,
                                      mmdet_l1_loss)
from ..necks.neck_levels import NeckLevels
from .base_distiller import BaseDistiller, check_predict_with
from .clip_targets import clip_objects, frame_samples
from .outputs import boxes_to_original, paste_masks_to_original
# Stage 1's padding mask and variance (one definition of each)
from .stage1_distiller import Stage1Distiller
from .video_concept_tracking import track_concepts


@MODELS.register_module()
class Stage3Distiller(BaseDistiller):
    """Fine-tune the student's SAM3 concept heads on noun-phrase / exemplar
    prompts (SA-Co style data).

    Supervision from the ground truth: presence BCE (is the concept in the
    image), a focal classification loss on every query (1 for queries
    matched to a GT instance by Hungarian matching, 0 otherwise), L1 + GIoU
    on matched boxes and Dice + Focal on matched masks. Optional
    distillation terms against the frozen teacher's outputs for the same
    prompts: query scores and presence (BCE to the teacher's
    probabilities) and masks of the queries the teacher is confident in.
    Queries correspond one-to-one between teacher and student because the
    student's DETR decoder starts from the teacher's weights.

    Clips (``inputs`` ``[B, T, 3, S, S]`` with ``TrackDataSample`` s, e.g.
    from :class:`~esam3.datasets.SACoVideoDataset`) get the same concept
    losses on every frame (presence = the frame shows an instance of the
    phrase) plus, when the student has a video tracker
    (``EfficientSAM3.video``, Perceiver memory from Stage 2), a tracking
    loss: the phrase's instances visible on frame 0 are prompted with their
    GT masks and tracked through the clip with the compressed memory;
    Dice + Focal on the tracked masks and BCE on the object scores against
    the GT of frames ``1..T-1``. A batch holds images or clips (see
    :class:`~esam3.datasets.samplers.SourceBatchSampler` for mixing both
    in one run). Clip prediction detects the phrase on every frame and
    links the detections into masklets with the tracker
    (:func:`track_concepts`), for :class:`VideoCGF1Metric`.

    Args:
        student: EfficientSAM3 config (encoder frozen by default through
            its ``freeze_trunk``).
        teacher: optional Sam3Teacher config for the distillation terms.
        tokenizer: Sam3Tokenizer config.
        matcher: Hungarian matcher config (TASK_UTILS).
        loss_*: loss configs (MODELS); ``None`` disables a term.
        distill_weight: multiplier of all teacher terms (0 disables them).
        distill_boxes: also distil the boxes of the queries the teacher is
            confident in (L1 + GIoU with ``loss_bbox`` / ``loss_giou``),
            for a light detector whose DETR differs from the teacher's.
        loss_feat: optional feature term (e.g. ``MaskedMSELoss``) between the
            student's light-neck levels and the teacher's neck outputs on
            the same inputs, padding excluded and each level divided by the
            teacher level's variance (as Stage 1's ``feat_normalize``): it
            keeps the levels that train here (``EfficientSAM3``'s
            ``trunk_trainable``) close to the teacher's while the concept
            losses move them. Needs a teacher and a light neck.
        feat_level_weights: per SAM3 neck, one weight per level (finest
            first), e.g. ``dict(detector=(1.0, 1.0, 1.0))``; required with
            ``loss_feat``.
        score_thr: score threshold of kept instances at test time.
        max_det: at most this many instances per prompt at test time.
        loss_track_dice / loss_track_focal / loss_track_score: clip tracking
            losses (used when the student has a video tracker).
        max_track_objects: objects tracked per training clip.
        assoc_iou: video prediction: a detection whose mask overlaps a
            tracked masklet by this IoU continues it instead of starting a
            new one.
        report_teacher_scores: at test time also run the teacher on the same
            prompts and store, per sample, ``teacher_presence`` and
            ``score_pairs`` (``[M, 2]`` student / teacher scores of
            detections matched by box IoU >= 0.5, Hungarian) for
            :class:`~esam3.evaluation.ScoreCalibrationMetric`.
        share_frozen_heads: the teacher uses the student's frozen head
            modules (the text encoder, the tracker) instead of its own
            identical copies (see ``BaseDistiller``).
        predict_with: ``'student'`` (default) or ``'teacher'``: which model
            answers the image prompts in ``predict``, so the teacher is
            evaluated on the same data with the same metric (clips need the
            student's memory tracker).
    """

    def __init__(self,
                 student: dict,
                 tokenizer: dict,
                 matcher: dict,
                 teacher: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 loss_presence: dict = mmdet_bce_loss(1.0),
                 loss_cls: dict = mmdet_focal_loss(2.0),
                 loss_bbox: dict = mmdet_l1_loss(5.0),
                 loss_giou: dict = mmdet_giou_loss(2.0),
                 loss_mask_dice: dict = mmdet_dice_loss(1.0),
                 loss_mask_focal: dict = mmdet_focal_loss(20.0),
                 distill_weight: float = 1.0,
                 distill_score_thr: float = 0.5,
                 distill_boxes: bool = False,
                 loss_feat: Optional[dict] = None,
                 feat_level_weights: Optional[Dict[str,
                                                   Sequence[float]]] = None,
                 context_length: int = 32,
                 score_thr: float = 0.5,
                 max_det: int = 100,
                 init_student_heads_from_teacher: bool = True,
                 loss_track_dice: dict = mmdet_dice_loss(1.0),
                 loss_track_focal: dict = mmdet_focal_loss(20.0),
                 loss_track_score: dict = mmdet_bce_loss(1.0),
                 max_track_objects: int = 8,
                 assoc_iou: float = 0.5,
                 init_cfg: Optional[dict] = None,
                 share_frozen_heads: bool = True,
                 report_teacher_scores: bool = False,
                 predict_with: str = 'student') -> None:
        super().__init__(
            student,
            teacher,
            data_preprocessor,
            init_student_heads_from_teacher,
            init_cfg,
            share_frozen_heads=share_frozen_heads)
        self.predict_with = check_predict_with(predict_with, self.teacher)
        self.tokenizer = MODELS.build(tokenizer)
        self.matcher = TASK_UTILS.build(matcher)
        build = lambda c: MODELS.build(c) if c else None  # noqa: E731
        self.loss_presence = build(loss_presence)
        self.loss_cls = build(loss_cls)
        self.loss_bbox = build(loss_bbox)
        self.loss_giou = build(loss_giou)
        self.loss_mask_dice = build(loss_mask_dice)
        self.loss_mask_focal = build(loss_mask_focal)
        self.distill_weight = distill_weight
        self.distill_score_thr = distill_score_thr
        self.distill_boxes = bool(distill_boxes)
        self.loss_feat = build(loss_feat)
        self.feat_level_weights = {
            k: tuple(float(x) for x in v)
            for k, v in (feat_level_weights or {}).items()
        }
        if self.loss_feat is not None and (self.teacher is None
                                           or not self.feat_level_weights):
            raise ValueError('Stage3Distiller: loss_feat needs a teacher '
                             'and feat_level_weights (e.g. '
                             'dict(detector=(1.0, 1.0, 1.0)))')
        self.context_length = context_length
        self.score_thr = score_thr
        self.max_det = max_det
        self.loss_track_dice = build(loss_track_dice)
        self.loss_track_focal = build(loss_track_focal)
        self.loss_track_score = build(loss_track_score)
        self.max_track_objects = max_track_objects
        self.assoc_iou = assoc_iou
        self.report_teacher_scores = bool(report_teacher_scores)

    # ------------------------------------------------------------ prompts
    def encode_prompts(
            self, data_samples, input_size: int, device
    ) -> Tuple[Tensor, Tensor, Optional[Tensor], Optional[Tensor]]:
        """Token ids of each sample's phrase and its exemplar boxes as
        normalised cxcywh with labels (1 positive, -10 padding)."""
        texts = [ds.metainfo['text'] for ds in data_samples]
        ids, mask = self.tokenizer(texts, context_length=self.context_length)
        ex = [ds.metainfo.get('exemplar_boxes', None) for ds in data_samples]
        ex = [
            torch.as_tensor(e, dtype=torch.float32).reshape(-1, 4)
            if e is not None else torch.zeros(0, 4) for e in ex
        ]
        n = max(e.shape[0] for e in ex)
        boxes = labels = None
        if n > 0:
            boxes = torch.zeros(len(ex), n, 4)
            labels = torch.full((len(ex), n), -10, dtype=torch.long)
            for i, e in enumerate(ex):
                if e.shape[0]:
                    boxes[i, :e.shape[0]] = box_convert(
                        e / input_size, 'xyxy', 'cxcywh')
                    labels[i, :e.shape[0]] = 1
            boxes, labels = boxes.to(device), labels.to(device)
        return ids.to(device), mask.to(device), boxes, labels

    def _run(self, model, trunk, prompts):
        ids, mask, boxes, labels = prompts
        return model.predict_concepts(
            trunk=trunk,
            input_ids=ids,
            attention_mask=mask,
            input_boxes=boxes,
            input_boxes_labels=labels)

    # --------------------------------------------------------------- loss
    def _targets(self, ds, mask_size: Tuple[int, int], input_size: int,
                 device) -> Tuple[Tensor, Tensor]:
        """GT masks at the decoder's mask size and normalised xyxy boxes of the
        sample's non-empty instances (video frames carry masks only:

        their boxes are the masks' bounding boxes).
        """
        empty = (torch.zeros(0, *mask_size,
                             device=device), torch.zeros(0, 4, device=device))
        if len(ds.gt_instances) == 0:
            return empty
        if 'bboxes' in ds.gt_instances:
            masks, boxes = self.gt_masks_boxes(ds, device)
        else:
            masks, boxes = self.gt_masks(ds, device), None
        keep = masks.flatten(1).any(1)
        if not keep.any():
            return empty
        masks = masks[keep]
        if boxes is None:  # exclusive right/bottom edges, as mmdet's
            boxes = masks_to_boxes(masks)
            boxes[:, 2:] += 1
        else:
            boxes = boxes[keep]
        masks = F.interpolate(
            masks[:, None].float(), size=mask_size, mode='area')[:, 0]
        return (masks > 0.5).float(), boxes / input_size

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """Concept losses on images ``[B, 3, S, S]``; on clips ``[B, T, 3, S,
        S]`` concept losses on every frame plus the tracking losses."""
        if inputs.dim() == 5:
            return self.clip_loss(inputs, data_samples)
        trunk = self.student.encode_trunk(inputs)
        return self.concept_losses(inputs, trunk, data_samples)

    def clip_loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """Losses of a clip batch (see the class docstring)."""
        b, t = inputs.shape[:2]
        frames = inputs.flatten(0, 1)
        trunk = self.student.encode_trunk(frames)
        per_frame = [f for ds in data_samples for f in frame_samples(ds)]
        losses = self.concept_losses(frames, trunk, per_frame)
        video = getattr(self.student, 'video', None)
        if video is None or self.loss_track_dice is None:
            return losses
        gt, valid = clip_objects(inputs, data_samples, self.max_track_objects)
        if not valid.any() or t < 2:
            anchor = sum(p.sum() * 0 for p in video.parameters()
                         if p.requires_grad)
            losses.update(
                loss_track_dice=anchor,
                loss_track_focal=anchor,
                loss_track_score=anchor)
            return losses
        clip = trunk.frames(b, t) if isinstance(trunk, NeckLevels) \
            else trunk.view(b, t, *trunk.shape[1:])
        out = video.forward_clip(clip, gt[:, 0].float())
        sel = valid[:, None].expand(-1, t - 1, -1)  # [B, T-1, N]
        masks = out['mask_logits'][:, 1:][sel]  # [M, h, w]
        h, w = masks.shape[-2:]
        target = F.interpolate(
            gt[:, 1:].flatten(0, 2)[:, None].float(), size=(h, w),
            mode='area')[:, 0].view(b, t - 1, -1, h, w)[sel] > 0.5
        target = target.float()
        visible = target.flatten(1).amax(1)
        scores = out['object_score_logits'][:, 1:][sel]
        losses.update(
            loss_track_dice=self.loss_track_dice(masks, target),
            loss_track_focal=self.loss_track_focal(masks, target),
            loss_track_score=self.loss_track_score(scores, visible))
        return losses

    def concept_losses(self, inputs: Tensor, trunk: Tensor,
                       data_samples) -> Dict[str, Tensor]:
        """Presence, matched classification / box / mask losses (and the
        optional teacher terms) of a batch of images or frames."""
        device, size = inputs.device, inputs.shape[-1]
        prompts = self.encode_prompts(data_samples, size, device)
        out = self._run(self.student, trunk, prompts)
        b, q = out.pred_logits.shape
        mask_size = out.pred_masks.shape[-2:]
        targets = [
            self._targets(ds, mask_size, size, device) for ds in data_samples
        ]
        # present: a positive phrase with an instance in view (a positive
        # video frame may not show the object)
        present = torch.tensor([
            0.0 if ds.metainfo.get('is_negative', False)
            or tgt[0].shape[0] == 0 else 1.0
            for ds, tgt in zip(data_samples, targets)
        ],
                               device=device)
        losses = {
            'loss_presence':
            self.loss_presence(out.presence_logits.view(-1), present)
        }

        cls_target = torch.zeros(b, q, device=device)
        m_pred, m_gt, b_pred, b_gt = [], [], [], []
        for i, (gt_masks, gt_boxes) in enumerate(targets):
            if gt_masks.shape[0] == 0:
                continue
            q_idx, g_idx = self.matcher.match(
                out.pred_masks[i].detach(),
                gt_masks,
                pred_scores=out.pred_logits[i].detach(),
                pred_boxes=out.pred_boxes[i].detach(),
                gt_boxes=gt_boxes)
            cls_target[i, q_idx] = 1.0
            m_pred.append(out.pred_masks[i, q_idx])
            m_gt.append(gt_masks[g_idx])
            b_pred.append(out.pred_boxes[i, q_idx])
            b_gt.append(gt_boxes[g_idx])
        num_pos = max(1.0, float(sum(x.shape[0] for x in m_gt)))
        losses['loss_cls'] = self.loss_cls(
            out.pred_logits.flatten(),
            cls_target.flatten(),
            avg_factor=num_pos)
        if m_pred:
            mp, mg = torch.cat(m_pred), torch.cat(m_gt)
            bp, bg = torch.cat(b_pred), torch.cat(b_gt)
            losses['loss_bbox'] = self.loss_bbox(bp, bg)
            losses['loss_giou'] = self.loss_giou(bp, bg)
            losses['loss_mask_dice'] = self.loss_mask_dice(mp, mg)
            losses['loss_mask_focal'] = self.loss_mask_focal(mp, mg)
        else:  # all negatives: keep every head in the graph
            zero = out.pred_masks.sum() * 0 + out.pred_boxes.sum() * 0
            for k in ('loss_bbox', 'loss_giou', 'loss_mask_dice',
                      'loss_mask_focal'):
                losses[k] = zero
        distill = self.teacher is not None and self.distill_weight > 0
        if distill or self.loss_feat is not None:
            with torch.no_grad():
                t_trunk = self.teacher_trunk(inputs, data_samples)
        if distill:
            losses.update(
                self._distill_losses(t_trunk, prompts, out))
        if self.loss_feat is not None:
            losses.update(
                self._feature_losses(trunk, t_trunk, data_samples,
                                     inputs.shape[-2:]))
        return losses

    def _feature_losses(self, trunk, t_trunk: Tensor, data_samples,
                        input_size: Tuple[int, int]) -> Dict[str, Tensor]:
        """``loss_feat_<neck><level>``: see ``loss_feat``."""
        if not isinstance(trunk, NeckLevels):
            raise ValueError('Stage3Distiller.loss_feat compares light-neck '
                             'levels; this student has no light neck')
        losses = {}
        for neck, weights in self.feat_level_weights.items():
            s_levels = trunk.levels(neck)
            with torch.no_grad():
                t_levels = self.teacher.heads.neck_levels(t_trunk, neck)
            if len(weights) != len(s_levels):
                raise ValueError(
                    f'feat_level_weights[{neck!r}] has {len(weights)} '
                    f'weights, the student makes {len(s_levels)} levels')
            for i, (s, t, w) in enumerate(zip(s_levels, t_levels, weights)):
                valid = Stage1Distiller.valid_token_mask(
                    data_samples, s.shape[-2:], input_size, s.device)
                var = Stage1Distiller.masked_var(t, valid).clamp(min=1e-12)
                losses[f'loss_feat_{neck}{i}'] = w * self.loss_feat(
                    s, t, valid) / var
        return losses

    def _distill_losses(self, t_trunk, prompts, out):
        with torch.no_grad():
            t_out = self._run(self.teacher, t_trunk, prompts)
        w = self.distill_weight
        res = {
            'loss_distill_cls':
            w * F.binary_cross_entropy_with_logits(
                out.pred_logits, t_out.pred_logits.sigmoid()),
            'loss_distill_presence':
            w * F.binary_cross_entropy_with_logits(
                out.presence_logits, t_out.presence_logits.sigmoid()),
        }
        keep = t_out.pred_logits.sigmoid() > self.distill_score_thr
        if keep.any():
            target = (t_out.pred_masks[keep] > 0).float()
            res['loss_distill_mask'] = w * self.loss_mask_dice(
                out.pred_masks[keep], target)
            if self.distill_boxes:
                # a light detector moves boxes too: L1 + GIoU to the
                # teacher's boxes of the queries it is confident in
                res['loss_distill_bbox'] = w * self.loss_bbox(
                    out.pred_boxes[keep], t_out.pred_boxes[keep])
                res['loss_distill_giou'] = w * self.loss_giou(
                    out.pred_boxes[keep], t_out.pred_boxes[keep])
        else:
            zero = out.pred_masks.sum() * 0 + out.pred_boxes.sum() * 0
            res['loss_distill_mask'] = zero
            if self.distill_boxes:
                res['loss_distill_bbox'] = zero
                res['loss_distill_giou'] = zero
        return res

    # ------------------------------------------------------------ predict
    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples) -> list:
        """All instances of each prompt: ``pred_instances`` (masks at the
        original resolution, boxes in original pixels, scores = query score
        x presence, labels from the sample's ``label`` metainfo) and
        ``presence_score``. Clips: see :meth:`predict_clip`."""
        if inputs.dim() == 5:
            return [
                self.predict_clip(frames, ds)
                for frames, ds in zip(inputs, data_samples)
            ]
        size = inputs.shape[-1]
        model = self.teacher if self.predict_with == 'teacher' \
            else self.student
        trunk = model.encode_trunk(inputs)
        prompts = self.encode_prompts(data_samples, size, inputs.device)
        out = self._run(model, trunk, prompts)
        presence = out.presence_logits.sigmoid().view(-1)
        scores_all = out.pred_logits.sigmoid() * presence[:, None]
        if self.report_teacher_scores and self.teacher is not None:
            self._teacher_scores(inputs, data_samples, prompts, out)
        for i, ds in enumerate(data_samples):
            scores = scores_all[i]
            keep = torch.nonzero(scores > self.score_thr).view(-1)
            keep = keep[scores[keep].argsort(descending=True)][:self.max_det]
            inst = InstanceData()
            inst.scores = scores[keep]
            inst.masks = paste_masks_to_original(out.pred_masks[i, keep],
                                                 ds.metainfo, size)
            inst.bboxes = boxes_to_original(out.pred_boxes[i, keep],
                                            ds.metainfo, size)
            inst.labels = torch.full_like(keep,
                                          int(ds.metainfo.get('label', 0)))
            ds.pred_instances = inst
            ds.presence_score = float(presence[i])
        return data_samples

    def _teacher_scores(self, inputs, data_samples, prompts, out) -> None:
        """Store the teacher's presence and the matched student / teacher
        instance scores of each sample (see ``report_teacher_scores``)."""
        from .score_matching import match_scores
        t_out = self._run(self.teacher,
                          self.teacher_trunk(inputs, data_samples), prompts)
        for i, ds in enumerate(data_samples):
            s_pres = out.presence_logits.sigmoid().view(-1)[i]
            t_pres = t_out.presence_logits.sigmoid().view(-1)[i]
            ds.student_presence = float(s_pres)
            ds.teacher_presence = float(t_pres)
            ds.score_pairs = match_scores(
                out.pred_logits[i].sigmoid() * s_pres, out.pred_boxes[i],
                t_out.pred_logits[i].sigmoid() * t_pres, t_out.pred_boxes[i],
                self.score_thr).cpu().numpy()

    @torch.no_grad()
    def predict_clip(self, frames: Tensor, sample):
        """Video concept segmentation of one clip ``[T, 3, S, S]``.

        The phrase of the clip (frame 0's ``text``) is detected on every
        frame and the detections are linked into masklets by the student's
        memory tracker (:func:`track_concepts`). Sets on ``sample``:
        ``pred_masklets`` (bool ``[M, T, H, W]``, original resolution),
        ``pred_masklet_scores`` ``[M]`` and ``gt_masklet_rles`` (``[N][T]``
        COCO RLEs from the frames' ``gt_rles``), plus ``text`` /
        ``is_negative`` / ``video_id`` metainfo.
        """
        video = getattr(self.student, 'video', None)
        if self.predict_with == 'teacher':
            raise ValueError("predict_with='teacher' covers images only: "
                             'clip prediction links detections with the '
                             "student's memory tracker")
        if video is None:
            raise ValueError('clip prediction needs a student with a video '
                             'tracker (EfficientSAM3.video)')
        frame_ds = frame_samples(sample)
        metas = [ds.metainfo for ds in frame_ds]
        size = frames.shape[-1]
        prompts = self.encode_prompts(frame_ds[:1], size, frames.device)
        cache = {}

        def trunk(t: int) -> Tensor:
            if t not in cache:
                cache.clear()
                cache[t] = self.student.encode_trunk(frames[t:t + 1])
            return cache[t]

        def detect(t: int):
            out = self._run(self.student, trunk(t), prompts)
            scores = out.pred_logits.sigmoid()[0] * \
                out.presence_logits.sigmoid().view(())
            keep = torch.nonzero(scores > self.score_thr).view(-1)
            keep = keep[scores[keep].argsort(descending=True)][:self.max_det]
            masks = out.pred_masks[0, keep]
            if tuple(masks.shape[-2:]) != tuple(video.mask_size):
                masks = F.interpolate(
                    masks[None],
                    size=video.mask_size,
                    mode='bilinear',
                    align_corners=False)[0]
            return scores[keep], masks

        logits, scores = track_concepts(
            detect,
            trunk,
            video,
            frames.shape[0],
            size,
            assoc_iou=self.assoc_iou,
            max_tracks=self.max_det)
        h, w = metas[0]['ori_shape'][:2]
        pred = torch.zeros(logits.shape[0], len(metas), h, w, dtype=torch.bool)
        for t, meta in enumerate(metas):
            if logits.shape[0]:
                pred[:, t] = paste_masks_to_original(logits[:, t], meta,
                                                     size).cpu()
        sample.pred_masklets = pred
        sample.pred_masklet_scores = scores.cpu()
        rles = [m.get('gt_rles') or [] for m in metas]
        n = len(rles[0])
        sample.gt_masklet_rles = [[r[i] for r in rles] for i in range(n)]
        sample.set_metainfo(
            dict(
                text=metas[0].get('text'),
                is_negative=bool(metas[0].get('is_negative', False)),
                video_id=metas[0].get('video_id'),
                ori_shape=(h, w)))
        return sample

    def _forward(self, inputs: Tensor, data_samples=None) -> Tensor:
        return self.student.encode_trunk(inputs)
