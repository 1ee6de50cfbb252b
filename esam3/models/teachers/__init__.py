# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from ..hf_builder import build_hf_model
from .sam3_teacher import Sam3Teacher

__all__ = ['build_hf_model', 'Sam3Teacher']
from .sam2_teacher import Sam2Teacher  # noqa: E402
from .sam3_tokenizer import Sam3Tokenizer  # noqa: E402
from .sam_teacher import SamTeacher  # noqa: E402

__all__ += ['Sam2Teacher', 'Sam3Tokenizer', 'SamTeacher']
from .sam3_video_teacher import Sam3VideoTeacher  # noqa: E402

__all__ += ['Sam3VideoTeacher']
