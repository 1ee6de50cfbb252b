# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""``ImagePredictor`` running the exported ONNX graphs on onnxruntime."""
from types import SimpleNamespace
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from esam3.apis.image_predictor import ImagePredictor
from .onnx_export import DECODER_INPUTS, manifest_resize_mode
from .ort_graphs import OrtParts

TextEmbeddings = Tuple[np.ndarray, np.ndarray]


class OrtImagePredictor(ImagePredictor):
    """Points / boxes / mask / text / exemplar prompts on onnxruntime.

    Same interface and code path as :class:`~esam3.apis.ImagePredictor`:
    the image goes through
    :func:`esam3.models.data_preprocessors.preprocess_image`, prompts
    through the same checks and coordinate mapping, and masks / boxes back
    through the same post-processing; only the networks run on
    onnxruntime: ``encoder.onnx`` once per image, then
    ``prompt_decoder[_single].onnx`` per geometric prompt, or
    ``text_encoder.onnx`` -> ``concept_decoder[_exemplar].onnx`` per
    concept prompt. Text features can come from a cache instead
    (``predict_concept(text_embeddings=encode_text(...))``), so a fixed
    vocabulary never runs the text encoder on the device.

    A part the export lacks fails when first needed, naming the part and
    the ``--parts`` option to export it.

    Args:
        onnx_dir: folder written by ``tools/deployment/export_onnx.py``
            (or :func:`esam3.deploy.export_model`).
        providers: onnxruntime execution providers (default CPU).
        num_threads: onnxruntime intra-op threads.
    """

    def __init__(self,
                 onnx_dir: str,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None) -> None:
        self.parts = OrtParts(onnx_dir, providers, num_threads)
        info = self.parts.info
        self.onnx_dir = onnx_dir
        self.model = None
        self.device = torch.device('cpu')
        self.img_size = int(info['img_size'])
        self.mean, self.std = list(info['mean']), list(info['std'])
        self.resize_mode = manifest_resize_mode(info)
        self.mask_input_size = tuple(info.get('mask_input_size', ()))
        self.tokenizer = None
        if 'tokenizer' in info:
            from esam3.registry import MODELS
            self.tokenizer = MODELS.build(dict(info['tokenizer']))
        self.reset_image()

    @classmethod
    def from_config(cls, *args, **kwargs):
        """Not available: export first, then ``OrtImagePredictor(dir)``."""
        raise NotImplementedError(
            'OrtImagePredictor runs exported graphs: run '
            'tools/deployment/export_onnx.py CONFIG CKPT --out DIR, then '
            'OrtImagePredictor(DIR)')

    def reset_image(self) -> None:
        super().reset_image()
        self._features: Dict[str, np.ndarray] = {}

    def _encode(self, pixels: Tensor) -> None:
        self._features = self.parts.encode(pixels)
        self._trunk = None
        self._track_emb = self.parts.branch(
            self._features, 'tracker', 'prompt_decoder', required=False)

    def _require_image(self) -> None:
        if not self._features:
            raise RuntimeError('call set_image() before predicting')

    # ----------------------------------------------------------- geometric
    def _decode(self, pts: Tensor, lbl: Tensor, masks_t: Optional[Tensor],
                multimask_output: bool):
        """Onnxruntime version of :meth:`ImagePredictor._decode`."""
        graph = self.parts.graph(
            'prompt_decoder',
            'prompt_decoder' if multimask_output else 'prompt_decoder_single')
        if masks_t is None:
            mask = np.zeros((1, 1, *self.mask_input_size), np.float32)
            has = np.zeros(1, np.float32)
        else:
            if tuple(masks_t.shape[-2:]) != self.mask_input_size:
                raise ValueError(
                    f'mask_input must be {self.mask_input_size} low-res '
                    f'logits, got {tuple(masks_t.shape[-2:])}')
            mask = masks_t.cpu().numpy().astype(np.float32)
            has = np.ones(1, np.float32)
        values = list(self._track_emb) + [
            pts.cpu().numpy().astype(np.float32),
            lbl.cpu().numpy().astype(np.int64), mask, has
        ]
        out = graph(**dict(zip(DECODER_INPUTS, values)))
        return (torch.from_numpy(out['masks']),
                torch.from_numpy(out['iou_scores']),
                torch.from_numpy(out['object_score_logits']).reshape(-1))

    # ------------------------------------------------------------- concept
    def encode_text(self, texts: Sequence[str]) -> TextEmbeddings:
        """Phrases -> ``(text_features [B, L, C], text_mask int64 [B, L])``
        with ``text_encoder.onnx``; row ``i`` (``[i:i + 1]`` of both) can be
        passed as ``text_embeddings`` to :meth:`predict_concept`, e.g. from a
        vocabulary encoded once."""
        graph = self.parts.graph('text_encoder')
        if self.tokenizer is None:
            raise RuntimeError(f'{self.onnx_dir} has no tokenizer in its '
                               'manifest: text prompts unavailable')
        texts = [texts] if isinstance(texts, str) else list(texts)
        for t in texts:
            if not isinstance(t, str) or not t.strip():
                raise ValueError(f'text must be a non-empty string, got {t!r}')
        ids, am = self.tokenizer(texts)
        out = graph(
            input_ids=ids.numpy().astype(np.int64),
            attention_mask=am.numpy().astype(np.int64))
        return out['text_features'], out['text_mask']

    @torch.no_grad()
    def predict_concept(
        self,
        text: Optional[str] = None,
        exemplar_boxes: Optional[Sequence] = None,
        exemplar_labels: Optional[Sequence[int]] = None,
        score_thr: float = 0.5,
        text_embeddings: Optional[TextEmbeddings] = None
    ) -> Dict[str, np.ndarray]:
        """:meth:`ImagePredictor.predict_concept` on onnxruntime.

        Args:
            text, exemplar_boxes, exemplar_labels, score_thr: as
                :meth:`ImagePredictor.predict_concept`.
            text_embeddings: ``(text_features [1, L, C], text_mask
                [1, L])`` from :meth:`encode_text` (e.g. cached): used
                instead of encoding ``text`` (then ``text`` may be None).
        """
        self._require_image()
        if text_embeddings is None:
            self.parts.graph('text_encoder')  # raises without the part
        self.parts.graph('concept_decoder')
        if text_embeddings is not None:
            feats, mask = self._check_text_embeddings(text_embeddings)
            boxes, labels = self._concept_prompt(text or 'cached',
                                                 exemplar_boxes,
                                                 exemplar_labels)
        else:
            boxes, labels = self._concept_prompt(text, exemplar_boxes,
                                                 exemplar_labels)
            feats, mask = self.encode_text(
                [text if text is not None else 'visual'])
        out = self._decode_concept((feats, mask), boxes, labels)
        return self._concept_result(out, score_thr)

    def _check_text_embeddings(self, emb) -> TextEmbeddings:
        graph = self.parts.graph('concept_decoder')
        if not isinstance(emb, (tuple, list)) or len(emb) != 2:
            raise TypeError('text_embeddings must be (text_features, '
                            'text_mask) as encode_text() returns')
        feats = np.asarray(emb[0], np.float32)
        mask = np.asarray(emb[1]).astype(np.int64)
        want = graph.input_shape('text_features')
        if feats.ndim == 2:
            feats, mask = feats[None], mask.reshape(1, -1)
        if feats.shape[0] != 1 or list(feats.shape[1:]) != want[1:]:
            raise ValueError('text_embeddings: text_features must be '
                             f'[1, {want[1]}, {want[2]}] (one phrase of '
                             f'encode_text()), got {list(feats.shape)}')
        if mask.shape != feats.shape[:2]:
            raise ValueError(f'text_embeddings: text_mask must be '
                             f'{list(feats.shape[:2])}, got '
                             f'{list(mask.shape)}')
        return feats, mask

    def _decode_concept(self, tokens, boxes: Optional[Tensor],
                        labels: Optional[Tensor]):
        """``concept_decoder[_exemplar].onnx`` on the cached detector levels
        and text features ``tokens = (features, mask)``."""
        feats, mask = tokens
        levels = self.parts.branch(self._features, 'detector',
                                   'concept_decoder')
        feeds = dict(
            det_0=levels[0],
            det_1=levels[1],
            det_2=levels[2],
            text_features=feats,
            text_mask=mask)
        name = 'concept_decoder'
        if boxes is not None:
            name = 'concept_decoder_exemplar'
            feeds.update(
                boxes=boxes.cpu().numpy().astype(np.float32),
                box_labels=labels.cpu().numpy().astype(np.int64))
        out = self.parts.graph('concept_decoder', name)(**feeds)
        return SimpleNamespace(**{
            k: torch.from_numpy(v)
            for k, v in out.items()
        })
