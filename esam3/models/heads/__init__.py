# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .sam3_heads import Sam3Heads, build_sam3_models

__all__ = ['Sam3Heads', 'build_sam3_models']
