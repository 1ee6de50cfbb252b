# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Stage 1: encoder distillation with prompt-in-the-loop (EdgeSAM style)."""
import inspect
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce
from mmengine.logging import MessageHub
from torch import Tensor, nn

from esam3.registry import MODELS, TASK_UTILS
from ..losses.mmdet_loss_cfgs import mmdet_dice_loss, mmdet_focal_loss
from ..necks.neck_levels import NeckLevels
from ..utils import prompts as P
from .base_distiller import BaseDistiller
from .outputs import paste_masks_to_original


@MODELS.register_module()
class Stage1Distiller(BaseDistiller):
    """Train the student encoder so that, through the SAM3 heads, it answers
    geometric prompts like the teacher.

    Per image, up to ``max_instances`` GT instances each get a first prompt
    (its box with probability ``box_prob``, else its mask-centre point).
    Teacher and student decode the same prompts; then ``num_refine`` times a
    corrective click is drawn from the disagreement between the student's
    and the teacher's masks (false negative -> positive click, false
    positive -> negative click; regions under ``min_refine_region`` pixels
    get none) and both decode again. Losses are summed over all rounds:

    ``L = L_feat + sum_rounds [Dice + Focal](mask_S, mask_T > 0; valid
    pixels) + w_iou * MSE(iou_S, iou_T) (+ optional task loss against GT
    masks)``.

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

    EdgeSAM recipe:

    * ``mask_tokens='all'`` (default): every prompt is decoded with the
      single-mask output (mask token 0) AND the multimask output (tokens
      1-3), and all 4 student masks are distilled against the teacher's
      mask of the same token (the student decoder starts as the teacher's
      copy; a ``matcher`` matches the 3 multimask outputs by Hungarian
      matching instead). ``'single'`` distils token 0 only.
    * ``loss_iou``: the IoU head regresses the teacher's predicted IoUs of
      every distilled token.
    * The mask whose corrective click is sampled is, for a prompt that is a
      single positive click (where SAM answers with its multimask output),
      the multimask token the TEACHER scores highest (the same token for
      student and teacher), else token 0.
    * Padding (``img_shape`` smaller than the input, letterbox mode) is
      excluded from every mask loss and from click sampling (EdgeSAM
      multiplies masks by the valid region); SAM3's square resize has none.

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
        prompt_loop_start: training iteration (the Runner's, from mmengine's
            ``MessageHub``; 0 outside a Runner) from which the
            prompt-in-the-loop mask / IoU losses join the feature term.
            Before it the student distils features only and nothing is
            decoded: EdgeSAM's encoder-only phase, then its
            prompt-in-the-loop phase, in one run. ``None``: features only
            throughout. Defaults to 0 (the loop from the start).
        video_teacher: optional :class:`Sam3VideoTeacher` config of a video
            tracker with a neck of its own on the teacher's trunk (the tiny
            proxy teacher): ``feat_level_weights`` may then name
            ``'video'``, and the student's light-neck ``'video'`` branch
            learns that neck's levels here, where the trunk is trained.
    """

    def __init__(self,
                 student: dict,
                 teacher: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 loss_feat: dict = dict(type='MaskedMSELoss', loss_weight=1.0),
                 feat_level_weights: Optional[Dict[str,
                                                   Sequence[float]]] = (dict(
                                                       tracker=(1.0, 1.0, 1.0),
                                                       detector=(1.0, 1.0,
                                                                 1.0))),
                 feat_normalize: bool = True,
                 calibrate_levels: bool = True,
                 loss_dice: dict = mmdet_dice_loss(1.0),
                 loss_focal: dict = mmdet_focal_loss(20.0),
                 loss_task_dice: Optional[dict] = None,
                 loss_task_focal: Optional[dict] = None,
                 loss_iou: Optional[dict] = dict(
                     type='mmdet.MSELoss', loss_weight=1.0),
                 matcher: Optional[dict] = None,
                 max_instances: int = 16,
                 box_prob: float = 0.5,
                 num_refine: int = 1,
                 min_refine_region: int = 10,
                 mask_tokens: str = 'all',
                 eval_clicks: int = 3,
                 eval_teacher: bool = True,
                 prompt_loop_start: Optional[int] = 0,
                 video_teacher: Optional[dict] = None,
                 init_student_heads_from_teacher: bool = True,
                 init_cfg: Optional[dict] = None,
                 share_frozen_heads: bool = True) -> None:
        super().__init__(
            student,
            teacher,
            data_preprocessor,
            init_student_heads_from_teacher,
            init_cfg,
            share_frozen_heads=share_frozen_heads)
        if not 0.0 <= box_prob <= 1.0:
            raise ValueError(f'box_prob must be in [0, 1], got {box_prob}')
        self.loss_feat = MODELS.build(loss_feat) if loss_feat else None
        self.feat_level_weights = {
            k: [float(w) for w in v]
            for k, v in (feat_level_weights or {}).items()
        }
        video_neck = None
        if video_teacher is not None:
            video_neck = self._video_teacher_neck(video_teacher)
        # hidden like the teacher: not in state_dict() / parameters()
        object.__setattr__(self, 'video_teacher_neck', video_neck)
        known = {'tracker', 'detector'} | ({'video'} if video_neck else set())
        unknown = set(self.feat_level_weights) - known
        if unknown:
            raise ValueError(f'feat_level_weights: unknown SAM3 necks '
                             f'{sorted(unknown)} (use {sorted(known)}; '
                             "'video' needs video_teacher)")
        self.feat_normalize = feat_normalize
        self.calibrate_levels = calibrate_levels
        self.loss_dice = MODELS.build(loss_dice)
        self.loss_focal = MODELS.build(loss_focal)
        self.loss_task_dice = MODELS.build(loss_task_dice) \
            if loss_task_dice else None
        self.loss_task_focal = MODELS.build(loss_task_focal) \
            if loss_task_focal else None
        if mask_tokens not in ('all', 'single'):
            raise ValueError("mask_tokens must be 'all' or 'single', got "
                             f'{mask_tokens!r}')
        self.mask_tokens = mask_tokens
        self.loss_iou = MODELS.build(loss_iou) if loss_iou else None
        self.matcher = TASK_UTILS.build(matcher) if matcher else None
        self.max_instances = max_instances
        self.box_prob = box_prob
        self.num_refine = num_refine
        self.min_refine_region = min_refine_region
        self.eval_clicks = eval_clicks
        self.eval_teacher = eval_teacher
        if prompt_loop_start is not None and prompt_loop_start < 0:
            raise ValueError('prompt_loop_start must be >= 0 or None, got '
                             f'{prompt_loop_start}')
        if prompt_loop_start is None and self.loss_feat is None:
            raise ValueError('prompt_loop_start=None (features only) needs '
                             'loss_feat')
        self.prompt_loop_start = prompt_loop_start

    # ----------------------------------------------------------- features
    def extract_feat(self, inputs: Tensor) -> Union[Tensor, NeckLevels]:
        return self.student.encode_trunk(inputs)

    def feature_losses(self, s_feats: Union[Tensor, NeckLevels],
                       t_trunk: Tensor, data_samples,
                       input_size: Tuple[int, int]) -> Dict[str, Tensor]:
        """Feature-distillation term, padding excluded per level: per-level MSE
        against the teacher's neck outputs (light neck; one loss per neck and
        level, e.g. ``loss_feat_tracker0`` for the finest tracker level) or
        trunk MSE (trunk mode, ``loss_feat``)."""
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

    def _video_teacher_neck(self, cfg: dict) -> nn.Module:
        """The FPN neck of a SAM3 video tracker on the same trunk as the
        teacher (checked: its ViT weights must equal the teacher's)."""
        video = cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)
        mine = self.teacher.trunk.state_dict()
        theirs = video.trunk.state_dict()
        if mine.keys() != theirs.keys() or any(
                not torch.equal(mine[k], theirs[k]) for k in mine):
            raise ValueError('video_teacher: its ViT trunk differs from the '
                             "teacher's; its neck levels would not match "
                             'the teacher trunk the student imitates')
        neck = video.tracker.vision_encoder.neck
        neck.requires_grad_(False)
        return neck.eval()

    @torch.no_grad()
    def teacher_levels(self, t_trunk: Tensor, neck: str) -> List[Tensor]:
        """The teacher's neck outputs that SAM3's heads read (``'video'``:

        the video teacher's own neck on the same trunk).
        """
        if neck == 'video':
            n = self.teacher.heads.num_read_levels
            return [
                layer(t_trunk)
                for layer in self.video_teacher_neck.fpn_layers[:n]
            ]
        return self.teacher.heads.neck_levels(t_trunk, neck)

    @staticmethod
    def masked_var(x: Tensor, valid: Tensor) -> Tensor:
        """Mean over channels of each channel's variance over the valid pixels
        (``x`` ``[B, C, h, w]``, ``valid`` ``[B, 1, h, w]``)."""
        n = valid.sum().clamp(min=1.0)
        mean = (x * valid).sum((0, 2, 3), keepdim=True) / n
        return ((x - mean).pow(2) * valid).sum((0, 2, 3)).mean() / n

    @torch.no_grad()
    def calibrate_neck(self, s_feats: NeckLevels, t_trunk: Tensor,
                       data_samples, input_size: Tuple[int, int]) -> None:
        """Scale each light-neck level so that its magnitude (per-channel std
        on valid pixels) equals the teacher level's; factors averaged over
        ranks.

        Done once: the neck's ``calibrated`` flag is saved.
        """
        factors = {}
        for neck in self.feat_level_weights:
            row = []
            for s, t in zip(
                    s_feats.levels(neck), self.teacher_levels(t_trunk, neck)):
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
        """A zero connected to every student output (DDP needs all parameters
        in the graph)."""
        if not isinstance(s_feats, NeckLevels):
            return s_feats.sum() * 0
        return sum(lv.sum() * 0 for neck in s_feats.branches
                   for lv in s_feats.levels(neck))

    @staticmethod
    def valid_token_mask(data_samples, grid: Tuple[int, int],
                         input_size: Tuple[int, int], device) -> Tensor:
        """[B, 1, h, w] mask of the cells of an ``h x w`` grid over the input
        (trunk tokens, low-res mask pixels) that see image pixels, not the
        bottom/right padding (all ones after SAM3's square resize)."""
        h, w = grid
        mask = torch.zeros(len(data_samples), 1, h, w, device=device)
        for i, ds in enumerate(data_samples):
            img_h, img_w = ds.metainfo.get('img_shape', input_size)[:2]
            mask[i, :, :math.ceil(img_h * h / input_size[0]), :math.
                 ceil(img_w * w / input_size[1])] = 1
        return mask

    # ------------------------------------------------------------ prompts
    def _batch_prompts(
            self, data_samples, device,
            training: bool) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Pad every image's prompts to the same count.

        Returns points [B, Pm, 2 + R, 2], labels [B, Pm, 2 + R], valid [B, Pm]
        and GT masks [B, Pm, S, S].
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
            pts, lbl = P.initial_prompts(
                masks, boxes, use_box, num_slots=2 + self.num_refine)
            per_img.append((pts, lbl, masks))
        return P.pad_prompt_batch(per_img, 2 + self.num_refine, device)

    # --------------------------------------------------------------- loss
    def _mask_losses(self, s_logits: Tensor, t_logits: Tensor, valid: Tensor,
                     valid_px: Tensor, tag: str) -> Dict[str, Tensor]:
        """Dice + focal between student [B,P,K,h,w] and teacher masks on the
        valid pixels ``valid_px`` [B,1,h,w] of the valid prompts."""
        target = (t_logits > 0).float()
        s, t = s_logits[valid], target[valid]  # [M, K, h, w]
        px = valid_px[:, None].expand(-1, valid.shape[1], s.shape[1], -1,
                                      -1)[valid]
        if self.matcher is not None and s.shape[1] > 1:
            order = [self.matcher.match(si, ti)[1] for si, ti in zip(s, t)]
            t = torch.stack([ti[o] for ti, o in zip(t, order)])
        s, t, px = s.flatten(0, 1), t.flatten(0, 1), px.flatten(0, 1)
        return {
            f'loss_dice_{tag}':
            self._masked_loss(
                self.loss_dice, s, t, px, mean_over_pixels=False),
            f'loss_focal_{tag}':
            self._masked_loss(
                self.loss_focal, s, t, px, mean_over_pixels=True),
        }

    @staticmethod
    def _masked_loss(loss_fn, s: Tensor, t: Tensor, px: Tensor,
                     mean_over_pixels: bool) -> Tensor:
        """``loss_fn(s, t)`` on the valid pixels ``px`` only.

        Without padding the loss is called as is. esam3's mask losses take
        ``valid_mask``; mmdet's (the defaults) have no pixel mask, so
        padding becomes an exact agreement at 0 (student logit -1e4, i.e.
        probability 0 and zero gradient, target 0): it drops out of the Dice
        sums and adds 0 to the focal sum, whose mean is then taken over the
        valid pixels (``avg_factor``).
        """
        keep = px > 0
        if bool(keep.all()):
            return loss_fn(s, t)
        if 'valid_mask' in inspect.signature(loss_fn.forward).parameters:
            return loss_fn(s, t, valid_mask=px)
        s = torch.where(keep, s, s.new_full((), -1e4))
        t = t * keep
        if mean_over_pixels:
            return loss_fn(s, t, avg_factor=keep.sum().clamp(min=1).float())
        return loss_fn(s, t)

    def _decode_both(self, s_emb, t_emb, pts: Tensor, lbl: Tensor):
        """Student and teacher decodes of the same prompts: a list of
        ``(student_out, teacher_out)`` for the single-mask output and, with
        ``mask_tokens='all'``, the multimask output."""
        outs = []
        multis = (False, True) if self.mask_tokens == 'all' else (False, )
        for multi in multis:
            s_out = self.student.heads.decode_prompts(
                s_emb, pts, lbl, multimask_output=multi)
            with torch.no_grad():
                t_out = self.teacher.heads.decode_prompts(
                    t_emb, pts, lbl, multimask_output=multi)
            outs.append((s_out, t_out))
        return outs

    @staticmethod
    def _click_masks(outs, lbl: Tensor) -> Tuple[Tensor, Tensor]:
        """Student / teacher masks ``[B, P, h, w]`` the corrective click
        is drawn from: token 0, or for single positive clicks (answered
        with the multimask output) the multimask token with the highest
        TEACHER IoU, the same token for both."""
        s_mask = outs[0][0].pred_masks[:, :, 0]
        t_mask = outs[0][1].pred_masks[:, :, 0]
        if len(outs) == 1:
            return s_mask, t_mask
        s_multi, t_multi = outs[1]
        idx = t_multi.iou_scores.argmax(-1)  # [B, P]
        gather = idx[:, :, None, None, None].expand(-1, -1, 1,
                                                    *s_mask.shape[-2:])
        s_best = s_multi.pred_masks.gather(2, gather).squeeze(2)
        t_best = t_multi.pred_masks.gather(2, gather).squeeze(2)
        single = ((lbl >= 0).sum(-1) == 1) & (lbl[..., 0] == P.POS_LABEL)
        sel = single[:, :, None, None]
        return (torch.where(sel, s_best,
                            s_mask), torch.where(sel, t_best, t_mask))

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
            losses.update(
                self.feature_losses(s_trunk, t_trunk, data_samples,
                                    inputs.shape[-2:]))
        if not self.prompt_loop_active():
            return losses

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
        valid_px = None
        n_slots = 2  # initial prompt slots
        for r in range(self.num_refine + 1):
            pts, lbl = points[:, :, :n_slots], labels[:, :, :n_slots]
            outs = self._decode_both(s_emb, t_emb, pts, lbl)
            if valid_px is None:  # image pixels (not padding), mask scale
                valid_px = self.valid_token_mask(
                    data_samples, outs[0][0].pred_masks.shape[-2:],
                    inputs.shape[-2:], device)
            s_logits = torch.cat([o[0].pred_masks for o in outs], 2)
            t_logits = torch.cat([o[1].pred_masks for o in outs], 2)
            losses.update(
                self._mask_losses(s_logits, t_logits, valid, valid_px,
                                  f'r{r}'))
            if self.loss_iou is not None:
                s_iou = torch.cat([o[0].iou_scores for o in outs], 2)
                t_iou = torch.cat([o[1].iou_scores for o in outs], 2)
                losses[f'loss_iou_r{r}'] = self.loss_iou(
                    s_iou[valid], t_iou[valid])
            if self.loss_task_dice is not None:
                losses.update(
                    self._task_losses(outs[0][0].pred_masks, gt, valid,
                                      f'r{r}'))
            if r == self.num_refine:
                break
            # corrective click from the student/teacher disagreement, on
            # image pixels only
            s_click, t_click = self._click_masks(outs, lbl)
            on_image = valid_px > 0  # [B, 1, h, w]
            s_best = (s_click.detach() > 0) & on_image
            t_best = (t_click > 0) & on_image
            P.add_corrective_click(points, labels, valid, n_slots, s_best,
                                   t_best, size, self.min_refine_region)
            n_slots += 1
        return losses

    def prompt_loop_active(self) -> bool:
        """Whether this training step runs the prompt-in-the-loop losses
        (``prompt_loop_start``)."""
        if self.prompt_loop_start is None:
            return False
        if self.prompt_loop_start == 0:
            return True
        step = MessageHub.get_current_instance().get_info('iter', 0)
        return int(step) >= self.prompt_loop_start

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
        return masks.gather(
            2, idx[:, :, None, None,
                   None].expand(-1, -1, 1, *masks.shape[-2:])).squeeze(2)

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
                pts, lbl = P.initial_prompts(
                    masks, boxes, use_box, num_slots=2 + self.eval_clicks)
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
                for k, v in student_out.items()
            }
            if teacher_out:
                ds.teacher_prompt_masks = {
                    k: paste_masks_to_original(v, ds.metainfo, size)
                    for k, v in teacher_out.items()
                }
        return data_samples

    @staticmethod
    def _decode_eval(heads, emb: List[Tensor], pts: Tensor,
                     lbl: Tensor) -> Tensor:
        """Decode N prompts of one image with ``heads`` -> logits [N, h, w].

        A single click uses the multimask output with the best predicted IoU
        (SAM's ambiguity protocol); boxes and multi-click prompts use one mask.
        """
        if pts.shape[0] == 0:
            h = emb[-1].shape[-1] * 4
            return emb[-1].new_zeros((0, h, h))
        n_clicks = (lbl >= 0).sum(-1)
        single_click = bool((n_clicks == 1).all()) and bool(
            (lbl[:, 0] <= P.POS_LABEL).all())
        out = heads.decode_prompts(
            emb, pts[None], lbl[None], multimask_output=single_click)
        return Stage1Distiller._best_mask(out)[0]

    def _click_loop(self, emb, pts, lbl, logits, gt_masks, size) -> Tensor:
        """``eval_clicks`` deterministic clicks against the GT (deepest point
        of the larger error region), one decode per click."""
        gt_low = F.interpolate(
            gt_masks[:, None].float(), size=logits.shape[-2:],
            mode='area')[:, 0] > .5
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
            logits = self._decode_eval(self.student.heads, emb, pts[:, :2 + c],
                                       lbl[:, :2 + c])
        return logits

    def _forward(self, inputs: Tensor, data_samples=None):
        """Student features: the trunk map, or ``{neck: levels}`` of a
        light-neck student (all necks computed)."""
        feats = self.extract_feat(inputs)
        if isinstance(feats, NeckLevels):
            return {neck: feats.levels(neck) for neck in feats.branches}
        return feats
