# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Int8 quantization of an export folder with onnxruntime.quantization.

Two modes, both onnxruntime's own tools:

* ``'dynamic'``: ``quantize_dynamic`` (int8 weights, activations quantized
  on the fly per tensor), every graph;
* ``'static'``: ``quantize_static`` (QDQ, per-channel int8 weights,
  activations calibrated with MinMax) for the encoder, calibrated on a few
  real images (the bundled samples); the other graphs dynamic (their
  inputs are features whose ranges depend on the encoder, and they hold a
  small share of the compute).

The output folder is a complete export (graphs + manifest with a
``quantization`` record) that the onnxruntime predictors load like the
fp32 one.
"""
import json
import logging
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                      QuantType, quantize_dynamic,
                                      quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

from .onnx_export import MANIFEST, load_manifest

MODES = ('dynamic', 'static')


class _ImageReader(CalibrationDataReader):
    """Calibration data reader: encoder inputs of a few images."""

    def __init__(self, info: dict, image_paths: Sequence[str]) -> None:
        from .onnx_parity import _pixels
        self.feeds = [
            dict(pixel_values=_pixels(p, info)[0].numpy()) for p in image_paths
        ]
        self.pos = 0

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        if self.pos >= len(self.feeds):
            return None
        self.pos += 1
        return self.feeds[self.pos - 1]

    def rewind(self) -> None:
        self.pos = 0


def _quantize_graph(name: str, src: str, dst: str, info: dict, mode: str,
                    calib_images: Sequence[str]) -> str:
    """Quantize one graph (static QDQ for the encoder in static mode, dynamic
    otherwise)."""
    # onnxruntime's pre-processing (graph optimisation) first, in both modes:
    # the TorchScript exporter routes weights that timm ties between modules
    # (e.g. RepViT's at 1008 px) through Identity nodes, and the quantizers
    # expect every Conv / MatMul weight to be an initializer.
    pre = dst + '.pre.onnx'
    quant_pre_process(src, pre, skip_symbolic_shape=True)
    try:
        if mode == 'static' and name == 'encoder':
            reader = _ImageReader(info, calib_images)
            quantize_static(
                pre,
                dst,
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8)
        else:
            quantize_dynamic(pre, dst, weight_type=QuantType.QInt8)
    finally:
        os.remove(pre)
    return dst


def quantize_export(src_dir: str,
                    dst_dir: str,
                    mode: str = 'dynamic',
                    calib_images: Optional[Sequence[str]] = None) -> dict:
    """Quantize every graph of ``src_dir`` to int8 into ``dst_dir``.

    Args:
        src_dir: fp32 export folder.
        dst_dir: output folder (created).
        mode: ``'dynamic'`` or ``'static'`` (see the module docstring).
        calib_images: images calibrating the static encoder.

    Returns:
        dict: graph name -> quantized file.

    Raises:
        ValueError: unknown mode, or static mode without images.
    """
    if mode not in MODES:
        raise ValueError(f'quantization mode must be one of {MODES}, got '
                         f'{mode!r}')
    calib_images = list(calib_images or [])
    if mode == 'static' and not calib_images:
        raise ValueError('static int8 quantization needs calibration images')
    info = load_manifest(src_dir)
    os.makedirs(dst_dir, exist_ok=True)
    out = {}
    # onnxruntime.quantization logs a warning per tensor it leaves in fp32
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        for name, fname in info['files'].items():
            out[name] = _quantize_graph(name, osp.join(src_dir, fname),
                                        osp.join(dst_dir, fname), info, mode,
                                        calib_images)
    finally:
        root.setLevel(level)
    for extra in os.listdir(dst_dir):  # calibration leftovers
        if extra.endswith('.data') or extra.endswith('augmented_model.onnx'):
            os.remove(osp.join(dst_dir, extra))
    info['quantization'] = dict(
        dtype='int8',
        mode=mode,
        calibration=[osp.basename(p)
                     for p in calib_images] if mode == 'static' else [],
        source=osp.abspath(src_dir))
    with open(osp.join(dst_dir, MANIFEST), 'w') as f:
        json.dump(info, f, indent=2)
    out['manifest'] = osp.join(dst_dir, MANIFEST)
    return out
