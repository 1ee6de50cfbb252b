# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Fine-tune SAM3 itself or an esam3 student on ground truth (custom data)."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from esam3.registry import MODELS
from ..losses.mmdet_loss_cfgs import mmdet_dice_loss, mmdet_focal_loss
from ..utils import prompts as P
from .clip_targets import clip_objects
from .stage3_distiller import Stage3Distiller


@MODELS.register_module()
class Sam3FineTuner(Stage3Distiller):
    """Ground-truth fine-tuning of a SAM3-interface model, no teacher.

    ``student`` is either SAM3 itself (:class:`~esam3.models.Sam3Trainable`,
    transformers' detector + tracker [+ video tracker] on one ViT trunk) or
    an esam3 student (:class:`~esam3.models.EfficientSAM3`, e.g. from a
    Stage 3 checkpoint via ``load_from``). Every batch is routed by its
    content:

    * images whose samples carry a ``text`` phrase (SA-Co / COCO-concept
      data): the Stage 3 concept losses, inherited unchanged (presence BCE,
      focal classification of Hungarian-matched queries, L1 + GIoU boxes,
      Dice + focal masks);
    * images without a phrase (SA-1B / COCO instances): geometric prompts
      from the GT, as Stage 1 samples them (per batch box or mask-centre
      point, ``box_prob``; ``num_refine`` corrective clicks drawn from the
      error region between the prediction and the GT), each decode
      supervised with Dice + focal against the GT mask and an IoU-head MSE
      against the true IoU; a single click uses SAM's multimask output and
      the loss of its best token;
    * clips ``[B, T, 3, S, S]``: with a :class:`Sam3Trainable` student,
      transformers' video tracker follows the frame-0 GT masks
      (``track_clip``, gradients through time) and is supervised with Dice
      + focal on masks and BCE on object scores vs visibility; an
      :class:`EfficientSAM3` student uses the Stage 3 clip losses
      (concept losses per frame + its Perceiver tracker).

    Prediction is the Stage 3 concept prediction (cgF1 / COCO metrics);
    geometric and video metrics are measured by using the fine-tuned SAM3
    folder as a teacher (``tools/misc/eval_teacher.py``).

    Args:
        student: config of the model to fine-tune.
        tokenizer, matcher: as :class:`Stage3Distiller`.
        loss_prompt_dice / loss_prompt_focal: geometric-prompt mask losses.
        loss_prompt_iou: IoU-head regression loss (``None`` = off).
        max_instances: prompts per image (random subset when more).
        box_prob: probability that a batch uses box prompts.
        num_refine: corrective-click rounds after the first prompt.
        min_refine_region: smallest error region (pixels at mask scale)
            that gets a click.
        prompt_on_concepts: also train geometric prompts on the instances
            of concept samples (one COCO-format dataset then trains both).
        **kwargs: the remaining :class:`Stage3Distiller` arguments, among
            them the tracking losses ``loss_track_*`` (used on clips).
    """

    def __init__(self,
                 student: dict,
                 tokenizer: dict = dict(
                     type='Sam3Tokenizer', context_length=32),
                 matcher: dict = dict(
                     type='HungarianMaskMatcher',
                     cost_cls=2.0,
                     cost_box=5.0,
                     cost_giou=2.0,
                     cost_dice=1.0,
                     cost_focal=1.0),
                 loss_prompt_dice: dict = mmdet_dice_loss(1.0),
                 loss_prompt_focal: dict = mmdet_focal_loss(20.0),
                 loss_prompt_iou: Optional[dict] = dict(
                     type='mmdet.MSELoss', loss_weight=1.0),
                 max_instances: int = 16,
                 box_prob: float = 0.5,
                 num_refine: int = 1,
                 min_refine_region: int = 10,
                 prompt_on_concepts: bool = False,
                 **kwargs) -> None:
        kwargs.setdefault('distill_weight', 0.0)
        super().__init__(student, tokenizer, matcher, teacher=None, **kwargs)
        if not 0.0 <= box_prob <= 1.0:
            raise ValueError(f'box_prob must be in [0, 1], got {box_prob}')
        self.loss_prompt_dice = MODELS.build(loss_prompt_dice)
        self.loss_prompt_focal = MODELS.build(loss_prompt_focal)
        self.loss_prompt_iou = MODELS.build(loss_prompt_iou) \
            if loss_prompt_iou else None
        self.max_instances = max_instances
        self.box_prob = box_prob
        self.num_refine = num_refine
        self.min_refine_region = min_refine_region
        self.prompt_on_concepts = prompt_on_concepts

    # ----------------------------------------------------------------- loss
    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """Concept, geometric-prompt or tracking losses (see the class
        docstring)."""
        if inputs.dim() == 5:
            if getattr(self.student, 'track_clip', None) is not None:
                return self.track_losses(inputs, data_samples)
            return self.clip_loss(inputs, data_samples)
        concept = [ds.metainfo.get('text') is not None for ds in data_samples]
        trunk = self.student.encode_trunk(inputs)
        losses = {}
        if any(concept):
            idx = [i for i, c in enumerate(concept) if c]
            losses.update(
                self.concept_losses(inputs[idx], self._select(trunk, idx),
                                    [data_samples[i] for i in idx]))
        idx = [
            i for i, c in enumerate(concept) if not c or
            (self.prompt_on_concepts and len(data_samples[i].gt_instances) > 0)
        ]
        if idx:
            losses.update(
                self.prompt_losses(
                    self._select(trunk, idx), [data_samples[i] for i in idx],
                    inputs.shape[-1]))
        return losses

    @staticmethod
    def _select(trunk, idx: List[int]):
        size = trunk.shape[0] if isinstance(trunk, Tensor) \
            else trunk.batch_size
        if idx == list(range(size)):
            return trunk
        return trunk[idx] if isinstance(trunk, Tensor) else trunk.select(idx)

    def _batch_prompts(self, data_samples, device, use_box: bool,
                       slots: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Initial prompts of every image padded to one count: points ``[B,
        P, slots, 2]``, labels ``[B, P, slots]``, valid ``[B, P]``, GT masks
        ``[B, P, S, S]``."""
        per_img = []
        for ds in data_samples:
            masks, boxes = self.gt_masks_boxes(ds, device)
            keep = masks.flatten(1).any(1)
            masks, boxes = masks[keep], boxes[keep]
            if masks.shape[0] > self.max_instances:
                sel = torch.randperm(masks.shape[0])[:self.max_instances]
                masks, boxes = masks[sel.to(device)], boxes[sel.to(device)]
            flags = torch.full((masks.shape[0], ), use_box)
            pts, lbl = P.initial_prompts(masks, boxes, flags, slots)
            per_img.append((pts, lbl, masks))
        return P.pad_prompt_batch(per_img, slots, device)

    def prompt_losses(self, trunk, data_samples,
                      input_size: int) -> Dict[str, Tensor]:
        """Geometric-prompt losses against the GT masks of a batch (see the
        class docstring); keys ``loss_prompt_{dice,focal,iou}_r{k}``."""
        heads = self.student.heads
        emb = heads.tracker_image_embeddings(trunk)
        device = emb[-1].device
        use_box = bool(torch.rand(()) < self.box_prob)
        slots = 2 + self.num_refine
        points, labels, valid, gt = self._batch_prompts(
            data_samples, device, use_box, slots)
        losses = {}
        if not valid.any():
            anchor = sum(e.sum() * 0 for e in emb)
            for key in ('dice', 'focal'):
                losses[f'loss_prompt_{key}_r0'] = anchor
            return losses
        n_slots = 2
        for r in range(self.num_refine + 1):
            lbl = labels[:, :, :n_slots]
            multi = r == 0 and not use_box
            out = heads.decode_prompts(
                emb, points[:, :, :n_slots], lbl, multimask_output=multi)
            logits = out.pred_masks  # [B, P, K, h, w]
            h, w = logits.shape[-2:]
            target = (F.interpolate(gt.float(), size=(h, w), mode='area')
                      > 0.5).float()
            if r == 0:  # instances too small to show at mask scale: none
                valid = valid & target.flatten(2).any(-1)
                if not valid.any():
                    return {
                        f'loss_prompt_{k}_r0': logits.sum() * 0
                        for k in ('dice', 'focal')
                    }
            s = logits[valid]  # [M, K, h, w]
            t = target[valid][:, None].expand_as(s)
            k = s.shape[1]
            dice = self.loss_prompt_dice(
                s.flatten(0, 1), t.flatten(0, 1),
                reduction_override='none').view(-1, k)
            focal = self.loss_prompt_focal(
                s.flatten(0, 1), t.flatten(0, 1),
                reduction_override='none').reshape(-1, k, h * w).mean(-1)
            best = (dice + focal).argmin(1)  # SAM: loss of the best token
            rows = torch.arange(s.shape[0], device=device)
            losses[f'loss_prompt_dice_r{r}'] = dice[rows, best].mean()
            losses[f'loss_prompt_focal_r{r}'] = focal[rows, best].mean()
            if self.loss_prompt_iou is not None:
                with torch.no_grad():
                    pred = s > 0
                    inter = (pred & (t > 0)).flatten(2).sum(-1).float()
                    union = (pred | (t > 0)).flatten(2).sum(-1).float()
                    iou = inter / union.clamp(min=1)
                losses[f'loss_prompt_iou_r{r}'] = self.loss_prompt_iou(
                    out.iou_scores[valid], iou)
            if r == self.num_refine:
                break
            token = best.new_zeros(valid.shape)
            token[valid] = best
            chosen = logits.gather(
                2, token[:, :, None, None, None].expand(-1, -1, 1, h, w))[:, :,
                                                                          0]
            P.add_corrective_click(points, labels, valid, n_slots,
                                   chosen.detach() > 0, target > 0, input_size,
                                   self.min_refine_region)
            n_slots += 1
        return losses

    def track_losses(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """Tracking losses of SAM3's video tracker on clips: frame-0 GT masks
        in, Dice + focal on the tracked masks of the later frames (where the
        object is visible) and BCE of the object score vs visibility."""
        gt, valid = clip_objects(inputs, data_samples, self.max_track_objects)
        b, t = inputs.shape[:2]
        anchor = sum(p.sum() * 0 for p in self.student.video.parameters()
                     if p.requires_grad)
        if not valid.any() or t < 2:
            return dict(
                loss_track_dice=anchor,
                loss_track_focal=anchor,
                loss_track_score=anchor)
        masks, targets, scores, visible = [], [], [], []
        for i in range(b):
            n = int(valid[i].sum())
            if n == 0:
                continue
            out = self.student.track_clip(inputs[i], gt[i, 0, :n])
            logits = out['mask_logits'][1:]  # [T-1, n, h, w]
            h, w = logits.shape[-2:]
            tgt = F.interpolate(
                gt[i, 1:, :n].float(), size=(h, w), mode='area') > 0.5
            vis = tgt.flatten(2).any(-1)  # [T-1, n]
            masks.append(logits[vis])
            targets.append(tgt[vis].float())
            scores.append(out['object_score_logits'][1:].reshape(-1))
            visible.append(vis.reshape(-1).float())
        mask_pred, mask_gt = torch.cat(masks), torch.cat(targets)
        losses = dict(
            loss_track_score=self.loss_track_score(
                torch.cat(scores), torch.cat(visible)))
        if mask_pred.shape[0]:
            losses['loss_track_dice'] = self.loss_track_dice(
                mask_pred, mask_gt)
            losses['loss_track_focal'] = self.loss_track_focal(
                mask_pred, mask_gt)
        else:
            losses['loss_track_dice'] = losses['loss_track_focal'] = anchor
        return losses
