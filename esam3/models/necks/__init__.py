# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .neck_levels import NeckLevels, batch_size_of
from .sam3_align_head import Sam3AlignHead
from .sam3_light_fpn import Sam3LightFPN

__all__ = ['NeckLevels', 'Sam3AlignHead', 'Sam3LightFPN', 'batch_size_of']
