# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""``ImagePredictor`` running the exported ONNX graphs on onnxruntime."""
from types import SimpleNamespace
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from esam3.apis.image_predictor import ImagePredictor
from esam3.apis.text_embeddings import TextEmbeddings
from .onnx_export import DECODER_INPUTS, manifest_resize_mode
from .ort_graphs import OrtParts


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
    (``predict_concept(text, text_embeddings=...)`` with
    :class:`~esam3.apis.TextEmbeddings` from :meth:`encode_text`, the
    PyTorch twin or ``tools/misc/cache_vocabulary.py``), so a fixed
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
    def text_encoder_identity(self) -> dict:
        """The exported text encoder's identity (recorded in the manifest at
        export), which cached :class:`~esam3.apis.TextEmbeddings` must
        match."""
        identity = self.parts.info.get('text_encoder_identity')
        if identity is None:
            raise ValueError(f'{self.onnx_dir}: the manifest records no text '
                             'encoder identity; re-export the concept parts')
        return dict(identity)

    @torch.no_grad()
    def encode_text(self,
                    phrases: Union[str, Sequence[str]],
                    batch_size: int = 64) -> TextEmbeddings:
        """:meth:`ImagePredictor.encode_text` with ``text_encoder.onnx``:

        projected text features of ``phrases`` (no image needed), e.g. a
        vocabulary encoded once and passed as ``text_embeddings`` to
        :meth:`predict_concept` (or saved with ``TextEmbeddings.save``).
        Embeddings from the PyTorch twin of the exported model fit too.
        """
        graph = self.parts.graph('text_encoder')
        if self.tokenizer is None:
            raise RuntimeError(f'{self.onnx_dir} has no tokenizer in its '
                               'manifest: text prompts unavailable')
        phrases = [phrases] if isinstance(phrases, str) else list(phrases)
        if not phrases:
            raise ValueError('encode_text: no phrases')
        for i, t in enumerate(phrases):
            if not isinstance(t, str) or not t.strip():
                raise ValueError(f'phrase {i} must be a non-empty string, '
                                 f'got {t!r}')
        feats, masks = [], []
        for i in range(0, len(phrases), batch_size):
            ids, am = self.tokenizer(phrases[i:i + batch_size])
            out = graph(
                input_ids=ids.numpy().astype(np.int64),
                attention_mask=am.numpy().astype(np.int64))
            feats.append(torch.from_numpy(out['text_features']))
            masks.append(torch.from_numpy(out['text_mask']).bool())
        return TextEmbeddings(phrases, torch.cat(feats), torch.cat(masks),
                              self.text_encoder_identity())

    @torch.no_grad()
    def predict_concept(self, *args, **kwargs) -> Dict[str, np.ndarray]:
        """:meth:`ImagePredictor.predict_concept` on onnxruntime: text ->
        ``text_encoder.onnx`` (skipped with ``text_embeddings``) ->
        ``concept_decoder[_exemplar].onnx``; same arguments and outputs."""
        if kwargs.get('text_embeddings') is None:
            self.parts.graph('text_encoder')  # raises without the part
        self.parts.graph('concept_decoder')
        return super().predict_concept(*args, **kwargs)

    def _text_inputs(self, phrase: str,
                     text_embeddings: Optional[TextEmbeddings]):
        """``(text_features [1, L, C], text_mask [1, L])`` numpy arrays of one
        phrase: encoded now, or the cached row (checked against the exported
        encoder's identity and the concept decoder's input shape)."""
        if text_embeddings is None:
            emb = self.encode_text([phrase])
            feats, mask = emb.features, emb.mask
        else:
            feats, mask = self._cached_text(phrase, text_embeddings)
        feats = feats.detach().cpu().numpy().astype(np.float32)
        want = self.parts.graph('concept_decoder').input_shape('text_features')
        if list(feats.shape[1:]) != want[1:]:
            raise ValueError(f'text_embeddings: the concept_decoder part '
                             f'takes text_features {want}, the cached row '
                             f'is {list(feats.shape)}')
        return feats, mask.cpu().numpy().astype(np.int64)

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
