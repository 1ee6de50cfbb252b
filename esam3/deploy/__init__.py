# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .concept_onnx import ConceptDecoderOnnx, TextEncoderOnnx
from .image_encoder_onnx import ImageEncoderOnnx
from .onnx_export import (PARTS, available_parts, check_onnx,
                          export_image_encoder, export_model, export_perceiver,
                          export_prompt_decoder, load_manifest)
from .onnx_parity import (check_image_parity, check_perceiver_parity,
                          parity_table)
from .ort_graphs import OrtParts
from .ort_predictor import OrtImagePredictor
from .ort_session import OrtGraph, create_session
from .ort_video_predictor import OrtVideoPredictor
from .perceiver_onnx import PerceiverOnnx
from .prompt_decoder_onnx import PromptDecoderOnnx
from .tracker_step_onnx import TrackerStateSpec, TrackerStepOnnx

__all__ = [
    'ConceptDecoderOnnx', 'ImageEncoderOnnx', 'OrtGraph', 'OrtImagePredictor',
    'OrtParts', 'OrtVideoPredictor', 'PARTS', 'PerceiverOnnx',
    'PromptDecoderOnnx', 'TextEncoderOnnx', 'TrackerStateSpec',
    'TrackerStepOnnx', 'available_parts', 'check_image_parity', 'check_onnx',
    'check_perceiver_parity', 'create_session', 'export_image_encoder',
    'export_model', 'export_perceiver', 'export_prompt_decoder',
    'load_manifest', 'parity_table'
]
