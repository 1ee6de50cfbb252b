# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Export esam3 models to ONNX (legacy TorchScript exporter, opset 17).

Three graphs:

* ``image_encoder.onnx``: normalised pixels ``[1, 3, S, S]`` -> the three
  tracker image embeddings (:class:`ImageEncoderOnnx`);
* ``prompt_decoder.onnx`` (3 candidate masks) and
  ``prompt_decoder_single.onnx`` (1 mask): image embeddings + ``P``
  prompts of ``n`` points (+ optional mask prompt) -> mask logits, IoU
  scores, object score logits (:class:`PromptDecoderOnnx`; ``P`` and ``n``
  are dynamic);
* ``memory_perceiver.onnx`` (Stage 2 models): one memory map + its
  positional encoding -> Perceiver latents + their positional encoding
  (:class:`PerceiverOnnx`; dynamic batch of objects).

``esam3_onnx.json`` next to them records the input size, normalisation
and file names, so :class:`~esam3.deploy.OrtImagePredictor` needs only the
folder.
"""
import json
import os
import os.path as osp
import warnings
from typing import Dict, Optional, Sequence

import onnx
import torch
from torch import nn

from .image_encoder_onnx import ImageEncoderOnnx
from .perceiver_onnx import PerceiverOnnx
from .prompt_decoder_onnx import PromptDecoderOnnx, dummy_decoder_inputs

MANIFEST = 'esam3_onnx.json'
ENCODER_FILE = 'image_encoder.onnx'
DECODER_FILES = {
    True: 'prompt_decoder.onnx',
    False: 'prompt_decoder_single.onnx'
}
PERCEIVER_FILE = 'memory_perceiver.onnx'
ENCODER_OUTPUTS = ['emb_s0', 'emb_s1', 'emb']
DECODER_INPUTS = ENCODER_OUTPUTS + [
    'points', 'labels', 'mask_input', 'has_mask_input'
]
DECODER_OUTPUTS = ['masks', 'iou_scores', 'object_score_logits']


def _export(module: nn.Module, args: tuple, path: str, input_names,
            output_names, dynamic_axes: Optional[dict], opset: int) -> str:
    """``torch.onnx.export`` (TorchScript path) + ``onnx.checker``."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    module = module.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')  # tracer warnings on shape checks
        torch.onnx.export(
            module,
            args,
            path,
            dynamo=False,
            opset_version=opset,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes=dynamic_axes,
            do_constant_folding=True)
    check_onnx(path)
    return path


def check_onnx(path: str) -> None:
    """Run ``onnx.checker`` (with shape inference) on a saved model.

    Raises:
        onnx.checker.ValidationError: naming what is invalid.
    """
    onnx.checker.check_model(onnx.load(path), full_check=True)


def model_image_size(model: nn.Module) -> int:
    """Input size ``S`` of a promptable model or a video tracker."""
    heads = getattr(model, 'heads', None)
    size = getattr(heads, 'image_size', None) or getattr(
        model, 'image_size', None)
    if size is None:
        raise ValueError(f'cannot tell the input size of '
                         f'{type(model).__name__}: pass img_size')
    return int(size)


def export_image_encoder(model: nn.Module,
                         path: str,
                         img_size: int,
                         opset: int = 17) -> str:
    """Export trunk + tracker neck (:class:`ImageEncoderOnnx`).

    Args:
        model: student / teacher / Stage 2 student tracker.
        path: output ``.onnx`` file.
        img_size: input size ``S`` (fixed in the graph).
        opset: ONNX opset.

    Returns:
        str: ``path``.
    """
    pixels = torch.randn(1, 3, img_size, img_size)
    return _export(
        ImageEncoderOnnx(model), (pixels, ), path, ['pixel_values'],
        ENCODER_OUTPUTS, None, opset)


def export_prompt_decoder(tracker: nn.Module,
                          embeddings: Sequence[torch.Tensor],
                          path: str,
                          multimask_output: bool = True,
                          img_size: int = 1008,
                          opset: int = 17) -> str:
    """Export the prompt decoder with dynamic prompt / point counts.

    Args:
        tracker: the HF SAM3 tracker holding ``prompt_encoder`` and
            ``mask_decoder`` (``Sam3Heads.tracker``).
        embeddings: example image embeddings (shapes are fixed).
        path: output ``.onnx`` file.
        multimask_output: 3 candidate masks (True) or 1 (False).
        img_size: input size (for example point coordinates).
        opset: ONNX opset.

    Returns:
        str: ``path``.
    """
    dyn = {
        'points': {
            0: 'num_prompts',
            1: 'num_points'
        },
        'labels': {
            0: 'num_prompts',
            1: 'num_points'
        },
        'mask_input': {
            0: 'num_mask_prompts'
        }
    }
    dyn.update({name: {0: 'num_prompts'} for name in DECODER_OUTPUTS})
    args = dummy_decoder_inputs(embeddings, 2, 3, img_size)
    return _export(
        PromptDecoderOnnx(tracker, multimask_output), args, path,
        DECODER_INPUTS, DECODER_OUTPUTS, dyn, opset)


def export_perceiver(perceiver: nn.Module,
                     path: str,
                     map_size: int,
                     in_channels: Optional[int] = None,
                     opset: int = 17) -> str:
    """Export one Perceiver memory step (:class:`PerceiverOnnx`).

    Args:
        perceiver: a ``SpatialPerceiver``.
        path: output ``.onnx`` file.
        map_size: memory map side ``H = W`` (S / 14 in the trackers).
        in_channels: memory channels (default ``perceiver.in_channels``).
        opset: ONNX opset.

    Returns:
        str: ``path``.
    """
    c = in_channels or perceiver.in_channels
    memory = torch.randn(2, c, map_size, map_size)
    pos = torch.randn(2, perceiver.dim, map_size, map_size)
    dyn = {
        name: {
            0: 'num_objects'
        }
        for name in ('memory', 'memory_pos', 'latents', 'latent_pos')
    }
    return _export(
        PerceiverOnnx(perceiver), (memory, pos), path,
        ['memory', 'memory_pos'], ['latents', 'latent_pos'], dyn, opset)


def export_model(model: nn.Module,
                 out_dir: str,
                 img_size: Optional[int] = None,
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5),
                 opset: int = 17,
                 resize_mode: str = 'square') -> Dict[str, str]:
    """Export every graph a model has and write the manifest.

    A promptable image model (student / teacher with ``Sam3Heads``) gives
    the encoder and both decoders; a Stage 2 student tracker gives its
    encoder (raw neck levels) and, when its memory bank has one, the
    Perceiver.

    Args:
        model: the model (eval mode is set here).
        out_dir: output folder.
        img_size: input size ``S`` (default: the model's).
        mean, std: normalisation recorded in the manifest (the config's
            data preprocessor values).
        opset: ONNX opset.
        resize_mode: how images reach ``S x S`` (``'square'``, SAM3's
            processor, or ``'letterbox'``), recorded in the manifest for
            the ONNX predictor (the config's data preprocessor value).

    Returns:
        dict: graph name -> file path (plus ``manifest``).
    """
    model = model.eval()
    size = int(img_size or model_image_size(model))
    os.makedirs(out_dir, exist_ok=True)
    files = dict(
        image_encoder=export_image_encoder(
            model, osp.join(out_dir, ENCODER_FILE), size, opset))
    heads = getattr(model, 'heads', None)
    tracker = getattr(heads, 'tracker', None)
    from esam3.models.data_preprocessors import check_resize_mode
    info = dict(
        img_size=size,
        mean=list(map(float, mean)),
        std=list(map(float, std)),
        opset=opset,
        resize_mode=check_resize_mode(resize_mode),
        model=type(model).__name__)
    if tracker is not None and hasattr(heads, 'tracker_image_embeddings'):
        with torch.no_grad():
            emb = ImageEncoderOnnx(model)(torch.zeros(1, 3, size, size))
        for multi, name in DECODER_FILES.items():
            key = 'prompt_decoder' if multi else 'prompt_decoder_single'
            files[key] = export_prompt_decoder(tracker, emb,
                                               osp.join(out_dir, name), multi,
                                               size, opset)
        info['mask_input_size'] = list(emb[0].shape[-2:])
    bank = getattr(model, 'memory_bank', None)
    perceiver = getattr(bank, 'perceiver', None)
    if perceiver is not None:
        patch = int(model.image_size) // int(model.grid) \
            if hasattr(model, 'grid') else 14
        grid = size // patch  # memory maps live on the trunk grid
        files['memory_perceiver'] = export_perceiver(
            perceiver, osp.join(out_dir, PERCEIVER_FILE), grid, opset=opset)
        info['memory_map_size'] = grid
    info['files'] = {k: osp.basename(v) for k, v in files.items()}
    manifest = osp.join(out_dir, MANIFEST)
    with open(manifest, 'w') as f:
        json.dump(info, f, indent=2)
    files['manifest'] = manifest
    return files


def manifest_resize_mode(info: dict) -> str:
    """The manifest's ``resize_mode``; manifests written before the key existed
    come from the letterbox-only preprocessing, hence ``'letterbox'`` for
    them."""
    from esam3.models.data_preprocessors import check_resize_mode
    return check_resize_mode(info.get('resize_mode', 'letterbox'))


def load_manifest(onnx_dir: str) -> dict:
    """Read ``esam3_onnx.json`` of an export folder.

    Raises:
        FileNotFoundError: naming the missing folder / manifest / graph.
    """
    path = osp.join(onnx_dir, MANIFEST)
    if not osp.isdir(onnx_dir):
        raise FileNotFoundError(f'ONNX folder not found: {onnx_dir}')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found: export with tools/deployment/export_onnx.py')
    with open(path) as f:
        info = json.load(f)
    for name in info.get('files', {}).values():
        if not osp.isfile(osp.join(onnx_dir, name)):
            raise FileNotFoundError(f'{osp.join(onnx_dir, name)} listed in '
                                    f'{path} is missing')
    return info
