# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .image_encoder_onnx import ImageEncoderOnnx
from .onnx_export import (check_onnx, export_image_encoder, export_model,
                          export_perceiver, export_prompt_decoder,
                          load_manifest)
from .onnx_parity import (check_image_parity, check_perceiver_parity,
                          parity_table)
from .ort_predictor import OrtImagePredictor
from .ort_session import create_session
from .perceiver_onnx import PerceiverOnnx
from .prompt_decoder_onnx import PromptDecoderOnnx

__all__ = [
    'ImageEncoderOnnx', 'OrtImagePredictor', 'PerceiverOnnx',
    'PromptDecoderOnnx', 'check_image_parity', 'check_onnx',
    'check_perceiver_parity', 'create_session', 'export_image_encoder',
    'export_model', 'export_perceiver', 'export_prompt_decoder',
    'load_manifest', 'parity_table'
]
