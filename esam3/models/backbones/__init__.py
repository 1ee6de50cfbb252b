# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .timm_backbone import TimmBackbone

__all__ = ['TimmBackbone']
