# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from ..hf_builder import build_hf_model
from .sam3_teacher import Sam3Teacher

__all__ = ['build_hf_model', 'Sam3Teacher']
