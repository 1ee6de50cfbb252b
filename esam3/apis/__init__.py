# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .image_inputs import load_image
from .image_predictor import ImagePredictor
from .model_loading import build_inference_model

__all__ = ['ImagePredictor', 'build_inference_model', 'load_image']
from .video_inputs import VideoFrames  # noqa: E402
from .video_predictor import VideoPredictor  # noqa: E402

__all__ += ['VideoFrames', 'VideoPredictor']
from .text_embeddings import TextEmbeddings, VocabularyMismatchError  # noqa

__all__ += ['TextEmbeddings', 'VocabularyMismatchError']
