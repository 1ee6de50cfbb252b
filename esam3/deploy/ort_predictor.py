# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""``ImagePredictor`` running the exported ONNX graphs on onnxruntime."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from esam3.apis.image_predictor import ImagePredictor
from .onnx_export import DECODER_INPUTS, load_manifest, manifest_resize_mode
from .ort_session import create_session


class OrtImagePredictor(ImagePredictor):
    """Points / boxes / mask prompts on onnxruntime.

    Same interface and code path as :class:`~esam3.apis.ImagePredictor`:
    the image goes through
    :func:`esam3.models.data_preprocessors.preprocess_image`, prompts
    through the same checks and coordinate mapping, and masks back through
    :func:`~esam3.models.distillers.outputs.paste_masks_to_original`; only
    the encoder and the prompt decoder run on onnxruntime
    (``image_encoder.onnx``, ``prompt_decoder[_single].onnx``). Concept
    prompts (text / exemplars) are not exported.

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
        info = load_manifest(onnx_dir)
        files = info['files']
        for key in ('image_encoder', 'prompt_decoder',
                    'prompt_decoder_single'):
            if key not in files:
                raise ValueError(f'{onnx_dir} has no {key} graph (exported '
                                 f'from a {info.get("model")}); the ONNX '
                                 'image predictor needs the encoder and both '
                                 'prompt decoders')
        self.onnx_dir = onnx_dir
        self.model = None
        self.tokenizer = None
        self.device = torch.device('cpu')
        self.img_size = int(info['img_size'])
        self.mean, self.std = list(info['mean']), list(info['std'])
        self.resize_mode = manifest_resize_mode(info)
        self.mask_input_size = tuple(info['mask_input_size'])

        def session(key):
            return create_session(
                osp.join(onnx_dir, files[key]), providers, num_threads)

        self.encoder = session('image_encoder')
        self.decoders = {
            True: session('prompt_decoder'),
            False: session('prompt_decoder_single')
        }
        self.reset_image()

    @classmethod
    def from_config(cls, *args, **kwargs):
        """Not available: export first, then ``OrtImagePredictor(dir)``."""
        raise NotImplementedError(
            'OrtImagePredictor runs exported graphs: run '
            'tools/deployment/export_onnx.py CONFIG CKPT --out DIR, then '
            'OrtImagePredictor(DIR)')

    def _encode(self, pixels: Tensor) -> None:
        feeds = {'pixel_values': pixels.cpu().numpy().astype(np.float32)}
        self._track_emb = self.encoder.run(None, feeds)
        self._trunk = None

    def _decode(self, pts: Tensor, lbl: Tensor, masks_t: Optional[Tensor],
                multimask_output: bool):
        """Onnxruntime version of :meth:`ImagePredictor._decode`."""
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
        masks, iou, obj = self.decoders[bool(multimask_output)].run(
            None, dict(zip(DECODER_INPUTS, values)))
        return (torch.from_numpy(masks), torch.from_numpy(iou),
                torch.from_numpy(obj).reshape(-1))

    def predict_concept(self, *args, **kwargs):
        """Concept prompts are not part of the ONNX export."""
        raise NotImplementedError(
            'concept prompts (text / exemplar boxes) are not exported to '
            'ONNX (only the image encoder and the point/box/mask prompt '
            'decoder are); use esam3.apis.ImagePredictor for them')
