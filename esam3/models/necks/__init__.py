# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .sam3_align_head import Sam3AlignHead

__all__ = ['Sam3AlignHead']
