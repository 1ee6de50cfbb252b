# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .sam3_lite_text_student import Sam3LiteTextStudent
from .sam3_text_teacher import Sam3TextTeacher
from .text_identity import describe_identity, text_encoder_identity

__all__ = [
    'Sam3LiteTextStudent', 'Sam3TextTeacher', 'describe_identity',
    'text_encoder_identity'
]
