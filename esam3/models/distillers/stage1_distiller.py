# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Stage 1: encoder distillation with prompt-in-the-loop (EdgeSAM style)."""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce
from torch import Tensor

from esam3.registry import MODELS, TASK_UTILS
from ..losses.mmdet_loss_cfgs import mmdet_dice_loss, mmdet_focal_loss
from ..necks.neck_levels import NeckLevels
from ..utils import prompts as P
from .base_distiller import BaseDistiller
from .outputs import paste_masks_to_original


@MODELS.register_module()
class Stage1Distiller(BaseDistiller):
    """Train the student encoder so that, through the SAM3 heads, it
    answers geometric prompts like the teacher.

    Per image, up to ``max_instances`` GT instances each get a first prompt
    (its box with probability ``box_prob``, else its mask-centre point).
    Teacher and student decode the same prompts; then ``num_refine`` times a
    corrective click is drawn from the disagreement between the student's
    and the teacher's masks (false negative -> positive click, false
    positive -> negative click; regions under ``min_refine_region`` pixels
    get none) and both decode again. Losses are summed over all rounds:

    ``L = L_feat + sum_rounds [Dice + Focal](mask_S, mask_T > 0) (+
    optional task loss against GT masks)``.

    The feature term follows what the student encoder makes. A light-neck
    student (:class:`~esam3.models.necks.Sam3LightFPN`) is compared with the
    teacher's neck outputs: ``L_feat = sum_{neck, l} w_{neck, l} *
    MSE(level_S, level_T; valid pixels of level l) / Var(level_T)`` over
    the levels SAM3's heads read (tracker and detector necks, 288/144/72 at
    1008 px), the teacher necks running on the cached or live teacher
    trunk, so the trunk cache still serves. Dividing by the teacher level's
    variance (per-channel, valid pixels; ``feat_normalize``) makes levels of
    very different magnitude count alike, so ``feat_level_weights`` are
    relative importances; and at the first training step the light neck's
    output scales are calibrated to the teacher's level magnitudes
    (``calibrate_levels``; a buffer of the neck, kept in checkpoints and
    averaged over ranks). A trunk-mode student
    (:class:`~esam3.models.necks.Sam3AlignHead`) gets ``MSE(trunk_S,
    trunk_T; valid pixels)``.

    With ``multimask=True`` the student's K masks per prompt are matched to
    the teacher's K masks by Hungarian matching before the mask losses.

    Teacher trunk features come from ``data_sample.teacher_trunk`` when a
    feature cache wraps the dataset, otherwise from the live teacher.

    With ``share_frozen_heads`` (default) the teacher uses the student's
    frozen head modules (e.g. the whole detector; a light-neck student's
    dropped necks excepted) instead of an identical copy of its own (see
    ``BaseDistiller``).

    Args (beyond the prompt-loop ones):
        loss_feat: the masked MSE (its ``loss_weight`` scales every level).
        feat_level_weights: per SAM3 neck, one weight per level (finest
            first) for the neck-level feature term; a neck missing here is
            not distilled at feature level. Ignored in trunk mode.
        feat_normalize: divide each level's MSE by the teacher level's
            variance (light neck only).
        calibrate_levels: calibrate the light neck's output scales once,
            at the first training step.
    """

    def __init__(self,
                 student: dict,
                 teacher: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 loss_feat: dict = dict(type='MaskedMSELoss', loss_weight=1.0),
                 feat_level_weights: Optional[Dict[str, Sequence[float]]] = (
                     dict(tracker=(1.0, 1.0, 1.0),
                          detector=(1.0, 1.0, 1.0))),
                 feat_normalize: bool = True,
                 calibrate_levels: bool = True,
                 loss_dice: dict = mmdet_dice_loss(1.0),
                 loss_focal: dict = mmdet_focal_loss(20.0),
                 loss_task_dice: Optional[dict] = None,
                 loss_task_focal: Optional[dict] = None,
                 matcher: Optional[dict] = None,
                 max_instances: int = 16,
                 box_prob: float = 0.5,
                 num_refine: int = 1,
                 min_refine_region: int = 10,
                 multimask: bool = False,
                 eval_clicks: int = 3,
                 eval_teacher: bool = True,
                 init_student_heads_from_teacher: bool = True,
                 init_cfg: Optional[dict] = None,
                 share_frozen_heads: bool = True) -> None:
        super().__init__(student, teacher, data_preprocessor,
                         init_student_heads_from_teacher, init_cfg,
                         share_frozen_heads=share_frozen_heads)
        if not 0.0 <= box_prob <= 1.0:
            raise ValueError(f'box_prob must be in [0, 1], got {box_prob}')
        self.loss_feat = MODELS.build(loss_feat) if loss_feat else None
        self.feat_level_weights = {
            k: [float(w) for w in v]
            for k, v in (feat_level_weights or {}).items()}
        unknown = set(self.feat_level_weights) - {'tracker', 'detector'}
        if unknown:
            raise ValueError(f'feat_level_weights: unknown SAM3 necks '
                             f"{sorted(unknown)} (use 'tracker' / "
                             "'detector')")
        self.feat_normalize = feat_normalize
        self.calibrate_levels = calibrate_levels
        self.loss_dice = MODELS.build(loss_dice)
        self.loss_focal = MODELS.build(loss_focal)
        self.loss_task_dice = MODELS.build(loss_task_dice) \
            if loss_task_dice else None
        self.loss_task_focal = MODELS.build(loss_task_focal) \
            if loss_task_focal else None
        self.multimask = multimask
        self.matcher = TASK_UTILS.build(matcher) if (
            multimask and matcher) else None
        if multimask and self.matcher is None:
            raise ValueError('multimask=True needs a matcher config')
        self.max_instances = max_instances
        self.box_prob = box_prob
        self.num_refine = num_refine
        self.min_refine_region = min_refine_region
        self.eval_clicks = eval_clicks
        self.eval_teacher = eval_teacher

    # ----------------------------------------------------------- features
    def extract_feat(self, inputs: Tensor) -> Union[Tensor, NeckLevels]:
        return self.student.encode_trunk(inputs)

    def feature_losses(self, s_feats: Union[Tensor, NeckLevels],
                       t_trunk: Tensor, data_samples,
                       input_size: Tuple[int, int]) -> Dict[str, Tensor]:
        """Feature-distillation term, padding excluded per level: per-level
        MSE against the teacher's neck outputs (light neck; one loss per
        neck and level, e.g. ``loss_feat_tracker0`` for the finest tracker
        level) or trunk MSE (trunk mode, ``loss_feat``)."""
        device = t_trunk.device
        if not isinstance(s_feats, NeckLevels):
            valid = self.valid_token_mask(data_samples, s_feats.shape[-2:],
                                          input_size, device)
            return {'loss_feat': self.loss_feat(s_feats, t_trunk, valid)}
        losses = {}
        for neck, weights in self.feat_level_weights.items():
            s_levels = s_feats.levels(neck)
            if len(weights) != len(s_levels):
                raise ValueError(
                    f'feat_level_weights[{neck!r}] has {len(weights)} '
                    f'weights, the student makes {len(s_levels)} levels')
            t_levels = self.teacher_levels(t_trunk, neck)
            for i, (s, t, w) in enumerate(zip(s_levels, t_levels, weights)):
                if s.shape != t.shape:
                    raise ValueError(
                        f'{neck} level {i}: student {tuple(s.shape)} vs '
                        f'teacher {tuple(t.shape)}')
                valid = self.valid_token_mask(data_samples, s.shape[-2:],
                                              input_size, device)
                loss = self.loss_feat(s, t, valid)
                if self.feat_normalize:
                    loss = loss / self.masked_var(t, valid).clamp(min=1e-12)
                losses[f'loss_feat_{neck}{i}'] = w * loss
        return losses

    @torch.no_grad()
    def teacher_levels(self, t_trunk: Tensor, neck: str) -> List[Tensor]:
        """The teacher's neck outputs that SAM3's heads read."""
        return self.teacher.heads.neck_levels(t_trunk, neck)

    @staticmethod
    def masked_var(x: Tensor, valid: Tensor) -> Tensor:
        """Mean over channels of each channel's variance over the valid
        pixels (``x`` ``[B, C, h, w]``, ``valid`` ``[B, 1, h, w]``)."""
        n = valid.sum().clamp(min=1.0)
        mean = (x * valid).sum((0, 2, 3), keepdim=True) / n
        return ((x - mean).pow(2) * valid).sum((0, 2, 3)).mean() / n

    @torch.no_grad()
    def calibrate_neck(self, s_feats: NeckLevels, t_trunk: Tensor,
                       data_samples, input_size: Tuple[int, int]) -> None:
        """Scale each light-neck level so that its magnitude (per-channel
        std on valid pixels) equals the teacher level's; factors averaged
        over ranks. Done once: the neck's ``calibrated`` flag is saved."""
        factors = {}
        for neck in self.feat_level_weights:
            row = []
            for s, t in zip(s_feats.levels(neck),
                            self.teacher_levels(t_trunk, neck)):
                valid = self.valid_token_mask(data_samples, s.shape[-2:],
                                              input_size, s.device)
                ratio = self.masked_var(t, valid) / self.masked_var(
                    s, valid).clamp(min=1e-12)
                row.append(ratio.sqrt())
            row = torch.stack(row)
            all_reduce(row, op='mean')  # in place; no-op on one process
            factors[neck] = row.tolist()
        s_feats.neck.calibrate(factors)
        s_feats.clear()

    @staticmethod
    def _graph_anchor(s_feats: Union[Tensor, NeckLevels]) -> Tensor:
        """A zero connected to every student output (DDP needs all
        parameters in the graph)."""
        if not isinstance(s_feats, NeckLevels):
            return s_feats.sum() * 0
        return sum(lv.sum() * 0 for neck in s_feats.branches
                   for lv in s_feats.levels(neck))

    @staticmethod
    def valid_token_mask(data_samples, grid: Tuple[int, int],
                         input_size: Tuple[int, int],
                         device) -> Tensor:
        """[B, 1, h, w] mask of trunk tokens that see image pixels (not the
        bottom/right padding)."""
        h, w = grid
        mask = torch.zeros(len(data_samples), 1, h, w, device=device)
        for i, ds in enumerate(data_samples):
            img_h, img_w = ds.metainfo.get('img_shape', input_size)[:2]
            mask[i, :, :math.ceil(img_h * h / input_size[0]),
                 :math.ceil(img_w * w / input_size[1])] = 1
        return mask

    # ------------------------------------------------------------ prompts
    def _batch_prompts(self, data_samples, device, training: bool
                       ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Pad every image's prompts to the same count.

        Returns points [B, Pm, 2 + R, 2], labels [B, Pm, 2 + R],
        valid [B, Pm] and GT masks [B, Pm, S, S].
        """
        per_img = []
        for ds in data_samples:
            masks, boxes = self.gt_masks_boxes(ds, device)
            n = masks.shape[0]
            if training and n > self.max_instances:
                keep = torch.randperm(n, device=device)[:self.max_instances]
                masks, boxes = masks[keep], boxes[keep]
                n = self.max_instances
            use_box = torch.rand(n) < self.box_prob
            pts, lbl = P.initial_prompts(masks, boxes, use_box,
                                         num_slots=2 + self.num_refine)
            per_img.append((pts, lbl, masks))
        b = len(per_img)
        pm = max(1, max(p[0].shape[0] for p in per_img))
        slots = 2 + self.num_refine
        size = per_img[0][2].shape[-2:]
        points = torch.zeros(b, pm, slots, 2, device=device)
        labels = torch.full((b, pm, slots), P.PAD_LABEL, dtype=torch.long,
                            device=device)
        valid = torch.zeros(b, pm, dtype=torch.bool, device=device)
        gt = torch.zeros(b, pm, *size, dtype=torch.bool, device=device)
        for i, (pts, lbl, masks) in enumerate(per_img):
            n = pts.shape[0]
            points[i, :n], labels[i, :n] = pts, lbl
            valid[i, :n] = True
            gt[i, :n] = masks
        return points, labels, valid, gt

    # --------------------------------------------------------------- loss
    def _mask_losses(self, s_logits: Tensor, t_logits: Tensor,
                     valid: Tensor, tag: str) -> Dict[str, Tensor]:
        """Losses between student [B,P,K,h,w] and teacher masks."""
        target = (t_logits > 0).float()
        s, t = s_logits[valid], target[valid]  # [M, K, h, w]
        if self.matcher is not None and s.shape[1] > 1:
            order = [self.matcher.match(si, ti)[1] for si, ti in zip(s, t)]
            t = torch.stack([ti[o] for ti, o in zip(t, order)])
        s, t = s.flatten(0, 1), t.flatten(0, 1)
        return {
            f'loss_dice_{tag}': self.loss_dice(s, t),
            f'loss_focal_{tag}': self.loss_focal(s, t),
        }

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        device = inputs.device
        s_trunk = self.extract_feat(inputs)
        with torch.no_grad():
            t_trunk = self.teacher_trunk(inputs, data_samples)
        losses = {}
        if self.loss_feat is not None:
            if self.calibrate_levels and isinstance(s_trunk, NeckLevels) \
                    and not bool(s_trunk.neck.calibrated):
                self.calibrate_neck(s_trunk, t_trunk, data_samples,
                                    inputs.shape[-2:])
            losses.update(self.feature_losses(s_trunk, t_trunk, data_samples,
                                              inputs.shape[-2:]))

        points, labels, valid, gt = self._batch_prompts(
            data_samples, device, training=True)
        if not valid.any():
            # keep the graph connected so DDP does not hang on unused params
            losses['loss_dice_r0'] = self._graph_anchor(s_trunk)
            return losses
        s_emb = self.student.heads.tracker_image_embeddings(s_trunk)
        with torch.no_grad():
            t_emb = self.teacher.heads.tracker_image_embeddings(t_trunk)
        size = inputs.shape[-1]
        n_slots = 2  # initial prompt slots
        for r in range(self.num_refine + 1):
            pts, lbl = points[:, :, :n_slots], labels[:, :, :n_slots]
            s_out = self.student.heads.decode_prompts(
                s_emb, pts, lbl, multimask_output=self.multimask)
            with torch.no_grad():
                t_out = self.teacher.heads.decode_prompts(
                    t_emb, pts, lbl, multimask_output=self.multimask)
            losses.update(self._mask_losses(s_out.pred_masks,
                                            t_out.pred_masks, valid, f'r{r}'))
            if self.loss_task_dice is not None:
                losses.update(self._task_losses(s_out.pred_masks, gt, valid,
                                                f'r{r}'))
            if r == self.num_refine:
                break
            # corrective click from the student/teacher disagreement
            s_best = self._best_mask(s_out).detach() > 0
            t_best = self._best_mask(t_out) > 0
            b, pm = valid.shape
            cpts, clbl = P.sample_corrective_points(
                s_best.flatten(0, 1), t_best.flatten(0, 1), size,
                self.min_refine_region)
            points[:, :, n_slots] = cpts.view(b, pm, 2)
            labels[:, :, n_slots] = torch.where(
                valid, clbl.view(b, pm), torch.full_like(clbl.view(b, pm),
                                                         P.PAD_LABEL))
            n_slots += 1
        return losses

    def _task_losses(self, s_logits, gt, valid, tag):
        h, w = s_logits.shape[-2:]
        target = F.interpolate(gt.float(), size=(h, w), mode='area') > 0.5
        s = self._best_logits(s_logits)[valid]
        t = target[valid].float()
        out = {f'loss_task_dice_{tag}': self.loss_task_dice(s, t)}
        if self.loss_task_focal is not None:
            out[f'loss_task_focal_{tag}'] = self.loss_task_focal(s, t)
        return out

    @staticmethod
    def _best_logits(pred_masks: Tensor) -> Tensor:
        return pred_masks[:, :, 0]

    @staticmethod
    def _best_mask(out) -> Tensor:
        """[B, P, h, w] mask with the highest predicted IoU per prompt."""
        masks = out.pred_masks
        if masks.shape[2] == 1:
            return masks[:, :, 0]
        idx = out.iou_scores.argmax(-1)  # [B, P]
        return masks.gather(2, idx[:, :, None, None, None].expand(
            -1, -1, 1, *masks.shape[-2:])).squeeze(2)

    # ------------------------------------------------------------ predict
    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples) -> list:
        """Evaluate GT-box, GT-centre-point and point+k click prompts.

        Fills ``prompt_masks`` (and ``teacher_prompt_masks`` for the box and
        point modes, same prompts) with bool masks at original resolution.
        """
        s_trunk = self.extract_feat(inputs)
        s_emb = self.student.heads.tracker_image_embeddings(s_trunk)
        t_emb = None
        if self.eval_teacher and self.teacher is not None:
            t_emb = self.teacher.heads.tracker_image_embeddings(
                self.teacher_trunk(inputs, data_samples))
        size = inputs.shape[-1]
        for i, ds in enumerate(data_samples):
            masks, boxes = self.gt_masks_boxes(ds, inputs.device)
            n = masks.shape[0]
            emb_s = [e[i:i + 1] for e in s_emb]
            emb_t = None if t_emb is None else [e[i:i + 1] for e in t_emb]
            student_out, teacher_out = {}, {}
            for mode in ('box', 'point'):
                use_box = torch.full((n, ), mode == 'box')
                pts, lbl = P.initial_prompts(masks, boxes, use_box,
                                             num_slots=2 + self.eval_clicks)
                logits = self._decode_eval(self.student.heads, emb_s,
                                           pts[:, :2], lbl[:, :2])
                student_out[mode] = logits
                if emb_t is not None:
                    teacher_out[mode] = self._decode_eval(
                        self.teacher.heads, emb_t, pts[:, :2], lbl[:, :2])
                if mode == 'point' and self.eval_clicks > 0:
                    student_out[f'point+{self.eval_clicks}'] = \
                        self._click_loop(emb_s, pts, lbl, logits, masks, size)
            ds.prompt_masks = {
                k: paste_masks_to_original(v, ds.metainfo, size)
                for k, v in student_out.items()}
            if teacher_out:
                ds.teacher_prompt_masks = {
                    k: paste_masks_to_original(v, ds.metainfo, size)
                    for k, v in teacher_out.items()}
        return data_samples

    @staticmethod
    def _decode_eval(heads, emb: List[Tensor], pts: Tensor,
                     lbl: Tensor) -> Tensor:
        """Decode N prompts of one image with ``heads`` -> logits
        [N, h, w]. A single click uses the multimask output with the best
        predicted IoU (SAM's ambiguity protocol); boxes and multi-click
        prompts use one mask."""
        if pts.shape[0] == 0:
            h = emb[-1].shape[-1] * 4
            return emb[-1].new_zeros((0, h, h))
        n_clicks = (lbl >= 0).sum(-1)
        single_click = bool((n_clicks == 1).all()) and bool(
            (lbl[:, 0] <= P.POS_LABEL).all())
        out = heads.decode_prompts(emb, pts[None], lbl[None],
                                   multimask_output=single_click)
        return Stage1Distiller._best_mask(out)[0]

    def _click_loop(self, emb, pts, lbl, logits, gt_masks, size) -> Tensor:
        """``eval_clicks`` deterministic clicks against the GT (deepest
        point of the larger error region), one decode per click."""
        gt_low = F.interpolate(gt_masks[:, None].float(),
                               size=logits.shape[-2:], mode='area')[:, 0] > .5
        gt_np = gt_low.cpu().numpy()
        scale = size / logits.shape[-1]
        pts, lbl = pts.clone(), lbl.clone()
        for c in range(self.eval_clicks):
            pred_np = (logits > 0).cpu().numpy()
            for j in range(pts.shape[0]):
                x, y, label = P.farthest_error_click(pred_np[j], gt_np[j])
                pts[j, 1 + c] = torch.tensor([(x + .5) * scale,
                                              (y + .5) * scale])
                lbl[j, 1 + c] = label
            logits = self._decode_eval(self.student.heads, emb,
                                       pts[:, :2 + c], lbl[:, :2 + c])
        return logits

    def _forward(self, inputs: Tensor, data_samples=None):
        """Student features: the trunk map, or ``{neck: levels}`` of a
        light-neck student (all necks computed)."""
        feats = self.extract_feat(inputs)
        if isinstance(feats, NeckLevels):
            return {neck: feats.levels(neck) for neck in feats.branches}
        return feats
