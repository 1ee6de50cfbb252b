# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Promptable image segmentation with an esam3 student (or its teacher)."""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from esam3.models.distillers.outputs import (boxes_to_original,
                                             paste_masks_to_original)
from esam3.models.utils import prompts as P
from .image_inputs import ImageInput, check_exemplars, check_finite, load_image
from .model_loading import build_inference_model
from .text_embeddings import TextEmbeddings, encode_phrases


class ImagePredictor:
    """SAM-style predictor: ``set_image`` once, then prompt many times.

    Geometric prompts (points, boxes, mask logits) run through the SAM3
    tracker heads; concept prompts (noun phrases and/or exemplar boxes)
    through the SAM3 detector heads. Coordinates are (x, y) pixels of the
    original image. Preprocessing is the deployment path of
    :func:`esam3.models.data_preprocessors.preprocess_image`, the same code
    the test pipeline + data preprocessor run.

    Args:
        model: an ``EfficientSAM3`` or ``Sam3Teacher`` (anything with
            ``encode_trunk`` and ``heads``).
        img_size: model input size (1008 for SAM3, 224 for tiny models).
        mean, std: normalisation (RGB), as in the config's preprocessor.
        tokenizer: callable ``(texts, context_length) -> (ids, mask)``,
            needed for text prompts.
        resize_mode: ``'square'`` (SAM3's processor, default) or
            ``'letterbox'``, as the config's data preprocessor says.
    """

    def __init__(self,
                 model: torch.nn.Module,
                 img_size: int,
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5),
                 tokenizer=None,
                 device: Union[str, torch.device] = 'cpu',
                 resize_mode: str = 'square') -> None:
        from esam3.models.data_preprocessors import check_resize_mode
        self.resize_mode = check_resize_mode(resize_mode)
        self.model = model.to(device).eval()
        self.img_size = int(img_size)
        self.mean, self.std = list(mean), list(std)
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.reset_image()

    # ------------------------------------------------------------ building
    @classmethod
    def from_config(cls,
                    config,
                    checkpoint: Optional[str] = None,
                    use_teacher: bool = False,
                    device: str = 'cpu') -> 'ImagePredictor':
        """Build from a Stage 1/3 config and a student checkpoint (loaded
        strictly), or the config's teacher (``use_teacher=True``)."""
        from esam3.registry import MODELS
        model, cfg = build_inference_model(config, checkpoint, use_teacher,
                                           device)
        pre = cfg.model.get('data_preprocessor', {}) or {}
        tok_cfg = cfg.model.get('tokenizer', dict(type='Sam3Tokenizer'))
        return cls(
            model,
            img_size=model.heads.image_size,
            mean=pre.get('mean', [127.5] * 3),
            std=pre.get('std', [127.5] * 3),
            tokenizer=MODELS.build(tok_cfg),
            device=device,
            resize_mode=pre.get('resize_mode', 'square'))

    # --------------------------------------------------------------- image
    def reset_image(self) -> None:
        self._trunk = None  # encoder output: trunk map or NeckLevels
        self._track_emb = None
        self._det_feats = None
        self._meta: Dict = {}

    @torch.no_grad()
    def set_image(self, image: ImageInput, channel_order: str = 'rgb') -> None:
        """Encode an image (path, or uint8 array HxWx3 in ``channel_order``)
        once; prompts then only run the light heads."""
        from esam3.models.data_preprocessors import preprocess_image
        img_bgr = load_image(image, channel_order)
        pixels, meta = preprocess_image(
            img_bgr,
            self.img_size,
            self.mean,
            self.std,
            resize_mode=self.resize_mode)
        self.reset_image()
        self._encode(pixels)
        self._meta = meta

    def _encode(self, pixels: Tensor) -> None:
        """Run the encoder on normalised pixels ``[1, 3, S, S]`` (overridden by
        the ONNX predictor).

        Only the backbone runs here: the tracker
        levels (geometric prompts) and the detector levels (concept prompts)
        are computed on the first prompt that needs them, then kept for
        this image.
        """
        self._trunk = self.model.encode_trunk(pixels.to(self.device))

    def _tracker_embeddings(self) -> List[Tensor]:
        """Tracker image embeddings of the current image (lazy, cached)."""
        if self._track_emb is None:
            self._track_emb = self.model.heads.tracker_image_embeddings(
                self._trunk)
        return self._track_emb

    def _require_image(self) -> None:
        if self._trunk is None and self._track_emb is None:
            raise RuntimeError('call set_image() before predicting')

    def _to_input_xy(self, xy: np.ndarray, what: str) -> Tensor:
        """Original-image pixels -> padded-input pixels, with checks."""
        h, w = self._meta['ori_shape'][:2]
        check_finite(xy, what)
        if xy.size == 0:
            raise ValueError(f'empty {what} list')
        if (xy[..., 0] < 0).any() or (xy[..., 0] > w).any() or \
                (xy[..., 1] < 0).any() or (xy[..., 1] > h).any():
            raise ValueError(f'{what} outside the image ({w}x{h}): '
                             f'{xy.reshape(-1, 2).tolist()}')
        sx, sy = self._meta['scale_factor'][:2]
        return torch.as_tensor(
            xy * np.array([sx, sy]), dtype=torch.float32, device=self.device)

    # ----------------------------------------------------------- geometric
    @torch.no_grad()
    def predict(self,
                points: Optional[Sequence] = None,
                labels: Optional[Sequence[int]] = None,
                boxes: Optional[Sequence] = None,
                mask_input: Optional[np.ndarray] = None,
                multimask_output: bool = True) -> Dict[str, np.ndarray]:
        """Masks for geometric prompts of ONE or several objects.

        Args:
            points: ``[n, 2]`` clicks of one object, or ``[N, n, 2]`` for N
                objects (x, y original pixels).
            labels: matching labels (1 foreground, 0 background).
            boxes: ``[4]`` or ``[N, 4]`` xyxy boxes (original pixels); may
                be combined with points (same N).
            mask_input: ``[N, h, w]`` low-res mask logits from a previous
                call (``low_res_logits``) to refine.
            multimask_output: return 3 candidate masks per object.

        Returns:
            dict with ``masks`` bool ``[N, K, H, W]``, ``scores`` ``[N, K]``
            (predicted IoU), ``object_scores`` ``[N]`` and
            ``low_res_logits`` ``[N, K, h, w]``.
        """
        self._require_image()
        pts, lbl = self._build_point_prompts(points, labels, boxes)
        masks_t = None
        if mask_input is not None:
            masks_t = torch.as_tensor(
                check_finite(mask_input, 'mask_input'),
                dtype=torch.float32,
                device=self.device)
            if masks_t.dim() == 2:
                masks_t = masks_t[None]
            if masks_t.dim() != 3:
                raise ValueError('mask_input must be [h, w] or [N, h, w] '
                                 '(one candidate of low_res_logits per '
                                 f'object), got {tuple(masks_t.shape)}')
            if masks_t.shape[0] != pts.shape[0]:
                raise ValueError('mask_input needs one mask per object')
            masks_t = masks_t[:, None]
        logits, iou, obj = self._decode(pts, lbl, masks_t, multimask_output)
        n, k = logits.shape[:2]
        full = paste_masks_to_original(
            logits.flatten(0, 1), self._meta, self.img_size)
        return dict(
            masks=full.view(n, k, *full.shape[-2:]).cpu().numpy(),
            scores=iou.cpu().numpy(),
            object_scores=obj.sigmoid().cpu().numpy(),
            low_res_logits=logits.cpu().numpy())

    def _decode(self, pts: Tensor, lbl: Tensor, masks_t: Optional[Tensor],
                multimask_output: bool):
        """Prompt decoder on the cached embeddings.

        Args:
            pts: ``[N, n, 2]`` points in input pixels; ``lbl`` ``[N, n]``.
            masks_t: optional ``[N, 1, h, w]`` mask-logit prompts.
            multimask_output: 3 candidate masks instead of 1.

        Returns:
            ``(logits [N, K, h, w], iou [N, K], object logits [N])``.
        """
        if masks_t is None:
            out = self.model.heads.decode_prompts(
                self._tracker_embeddings(),
                pts[None],
                lbl[None],
                multimask_output=multimask_output)
            return (out.pred_masks[0], out.iou_scores[0],
                    out.object_score_logits[0].reshape(-1))
        # one image row per object: the mask prompt is per image
        out = self.model.heads.decode_prompts(
            [
                e.expand(pts.shape[0], -1, -1, -1)
                for e in self._tracker_embeddings()
            ],
            pts[:, None],
            lbl[:, None],
            masks=masks_t,
            multimask_output=multimask_output)
        return (out.pred_masks[:, 0], out.iou_scores[:, 0],
                out.object_score_logits[:, 0].reshape(-1))

    def _build_point_prompts(self, points, labels, boxes):
        if points is None and boxes is None:
            raise ValueError('predict needs points and/or boxes')
        per_obj = []
        n_obj = None
        if boxes is not None:
            b = np.asarray(boxes, dtype=np.float32)
            if b.size == 0:
                raise ValueError('empty boxes list')
            b = b[None] if b.ndim == 1 else b
            if b.ndim != 2 or b.shape[-1] != 4:
                raise ValueError(f'boxes must be [4] or [N, 4], got {b.shape}')
            if ((b[:, 2] - b[:, 0]) <= 0).any() or \
                    ((b[:, 3] - b[:, 1]) <= 0).any():
                raise ValueError(f'zero-area or inverted box in {b.tolist()}')
            corners = self._to_input_xy(b.reshape(-1, 2, 2), 'boxes')
            n_obj = corners.shape[0]
            per_obj.append((corners,
                            torch.tensor([P.BOX_TL_LABEL, P.BOX_BR_LABEL],
                                         device=self.device).expand(n_obj, 2)))
        if points is not None:
            p = np.asarray(points, dtype=np.float32)
            if p.size == 0:
                raise ValueError('empty points list')
            p = p[None] if p.ndim == 2 else p
            if p.ndim != 3 or p.shape[-1] != 2:
                raise ValueError(
                    f'points must be [n, 2] or [N, n, 2], got {p.shape}')
            if labels is None:
                raise ValueError('points need labels (1 fg / 0 bg)')
            lab = np.asarray(labels).reshape(p.shape[:2])
            if not np.isin(lab, (0, 1)).all():
                raise ValueError(f'point labels must be 0 or 1, got {lab}')
            if n_obj is not None and p.shape[0] != n_obj:
                raise ValueError(f'{p.shape[0]} point groups for {n_obj} '
                                 'boxes: give one group per box')
            per_obj.insert(0, (self._to_input_xy(
                p, 'points'), torch.as_tensor(lab, device=self.device)))
        pts = torch.cat([x[0] for x in per_obj], dim=1)
        lbl = torch.cat([x[1] for x in per_obj], dim=1).long()
        return pts, lbl

    # ------------------------------------------------------------- concept
    def text_encoder_identity(self) -> dict:
        """The model's text encoder (kind, size, weight fingerprint), as
        recorded in vocabulary caches."""
        from esam3.models.text.text_identity import text_encoder_identity
        return text_encoder_identity(self.model.heads.detector)

    @torch.no_grad()
    def encode_text(self,
                    phrases: Union[str, Sequence[str]],
                    batch_size: int = 64) -> TextEmbeddings:
        """Projected text features of ``phrases`` (no image needed); pass them
        to :meth:`predict_concept` as ``text_embeddings``, or save them
        (``TextEmbeddings.save``, ``tools/misc/cache_vocabulary.py``).

        Raises:
            RuntimeError: without a tokenizer.
            ValueError: on an empty or non-string phrase (names its index).
        """
        if self.tokenizer is None:
            raise RuntimeError('no tokenizer: text prompts unavailable')
        if isinstance(phrases, str):
            phrases = [phrases]
        return encode_phrases(self.model.heads, self.tokenizer, phrases,
                              batch_size)

    def _text_inputs(self, phrase: str,
                     text_embeddings: Optional[TextEmbeddings]):
        """``(input_ids, attention_mask, text_embeds)`` for one phrase: live
        token ids, or the cached row (checked against the model's encoder)."""
        if text_embeddings is None:
            if self.tokenizer is None:
                raise RuntimeError('no tokenizer: text prompts unavailable '
                                   '(or pass text_embeddings=)')
            ids, am = self.tokenizer([phrase])
            return ids.to(self.device), am.to(self.device), None
        feats, mask = self._cached_text(phrase, text_embeddings)
        from transformers.modeling_outputs import BaseModelOutputWithPooling
        return (None, mask.to(self.device).long(),
                BaseModelOutputWithPooling(
                    pooler_output=feats.to(self.device)))

    def _cached_text(self, phrase: str, text_embeddings: TextEmbeddings):
        """``(features [1, L, C], mask [1, L])`` of ``phrase`` from cached
        embeddings, checked against this model's text encoder."""
        if not isinstance(text_embeddings, TextEmbeddings):
            raise TypeError('text_embeddings must be TextEmbeddings (from '
                            'encode_text or TextEmbeddings.load), got '
                            f'{type(text_embeddings).__name__}')
        text_embeddings.check_encoder(self.text_encoder_identity(),
                                      'this model')
        row = text_embeddings.index(phrase)
        return (text_embeddings.features[row:row + 1],
                text_embeddings.mask[row:row + 1])

    @torch.no_grad()
    def predict_concept(
        self,
        text: Optional[str] = None,
        exemplar_boxes: Optional[Sequence] = None,
        exemplar_labels: Optional[Sequence[int]] = None,
        score_thr: float = 0.5,
        text_embeddings: Optional[TextEmbeddings] = None
    ) -> Dict[str, np.ndarray]:
        """All instances of a concept given by a noun phrase and/or exemplar
        boxes (xyxy original pixels; labels 1 positive, 0 negative).

        Args:
            text: the noun phrase.
            exemplar_boxes / exemplar_labels: visual exemplars.
            score_thr: keep instances scoring above this.
            text_embeddings: cached embeddings (:meth:`encode_text`,
                :meth:`TextEmbeddings.load`) holding ``text`` (or, for an
                exemplar-only prompt, SAM3's generic phrase ``'visual'``):
                the text encoder does not run. They must come from this
                model's text encoder (else ``VocabularyMismatchError``
                naming both).

        Returns:
            dict with ``masks`` bool ``[M, H, W]``, ``boxes`` ``[M, 4]``
            (original pixels), ``scores`` ``[M]`` (query score x presence)
            and ``presence`` (float).
        """
        self._require_image()
        boxes, labels = self._concept_prompt(text, exemplar_boxes,
                                             exemplar_labels)
        # SAM3 pairs exemplar-only prompts with the generic phrase 'visual'
        tokens = self._text_inputs(text if text is not None else 'visual',
                                   text_embeddings)
        out = self._decode_concept(tokens, boxes, labels)
        return self._concept_result(out, score_thr)

    def _concept_prompt(self, text, exemplar_boxes, exemplar_labels):
        """Check a concept prompt; exemplars -> normalised cxcywh ``[1, E, 4]``
        boxes and ``[1, E]`` labels (None without exemplars)."""
        if text is None and exemplar_boxes is None:
            raise ValueError('predict_concept needs text and/or exemplars')
        if exemplar_boxes is None and exemplar_labels is not None:
            raise ValueError('exemplar_labels given without exemplar_boxes')
        if text is not None and (not isinstance(text, str)
                                 or not text.strip()):
            raise ValueError(f'text must be a non-empty string, got {text!r}')
        if exemplar_boxes is None:
            return None, None
        b, lab = check_exemplars(exemplar_boxes, exemplar_labels)
        xy = self._to_input_xy(b.reshape(-1, 2, 2), 'exemplar boxes')
        xyxy = xy.reshape(-1, 4) / self.img_size
        boxes = torch.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2,
                             (xyxy[:, 1] + xyxy[:, 3]) / 2,
                             xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]],
                            dim=1)[None]
        labels = torch.as_tensor(
            lab, dtype=torch.long, device=self.device)[None]
        return boxes, labels

    def _decode_concept(self, tokens, boxes: Optional[Tensor],
                        labels: Optional[Tensor]):
        """SAM3's detector heads on the cached detector levels and ``tokens``
        from :meth:`_text_inputs` (overridden by the ONNX predictor).

        Returns:
            an object with ``pred_masks [1, Q, h, w]``, ``pred_boxes
            [1, Q, 4]`` (normalised xyxy), ``pred_logits [1, Q]`` and
            ``presence_logits [1, 1]``.
        """
        ids, am, text_embeds = tokens
        if self._det_feats is None:
            self._det_feats = self.model.heads.detector_features(self._trunk)
        return self.model.heads.decode_concepts(
            self._det_feats,
            ids,
            am,
            text_embeds=text_embeds,
            input_boxes=boxes,
            input_boxes_labels=labels)

    def _concept_result(self, out, score_thr: float) -> Dict[str, np.ndarray]:
        """Detections above ``score_thr`` (query score x presence), best first,
        boxes and masks at the original image size."""
        presence = out.presence_logits.sigmoid().view(-1)[0]
        scores = out.pred_logits[0].sigmoid() * presence
        keep = torch.nonzero(scores > score_thr).view(-1)
        keep = keep[scores[keep].argsort(descending=True)]
        boxes_o = boxes_to_original(out.pred_boxes[0, keep], self._meta,
                                    self.img_size)
        masks = paste_masks_to_original(out.pred_masks[0, keep], self._meta,
                                        self.img_size)
        return dict(
            masks=masks.cpu().numpy(),
            boxes=boxes_o.cpu().numpy(),
            scores=scores[keep].cpu().numpy(),
            presence=float(presence))

    # --------------------------------------------------------------- batch
    def predict_batch(self,
                      images: List[ImageInput],
                      boxes: List[Sequence],
                      multimask_output: bool = False) -> List[Dict]:
        """Box prompts on several images (one result dict per image)."""
        if len(images) != len(boxes):
            raise ValueError('one box list per image')
        results = []
        for img, bxs in zip(images, boxes):
            self.set_image(img)
            results.append(
                self.predict(boxes=bxs, multimask_output=multimask_output))
        return results
