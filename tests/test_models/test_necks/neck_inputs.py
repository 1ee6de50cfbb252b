# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Backbone-like inputs shared by the neck tests."""
import torch

#: channels of a 4-level backbone (strides 4/8/16/32)
CHANNELS = [16, 32, 64, 128]


def backbone_feats(size=224, batch=1, channels=CHANNELS):
    """Random maps of a ``size`` px image at strides 4/8/16/32."""
    return [
        torch.randn(batch, c, -(-size // s), -(-size // s))
        for c, s in zip(channels, [4, 8, 16, 32])
    ]
