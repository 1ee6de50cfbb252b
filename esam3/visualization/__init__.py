# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .sam3_visualizer import Sam3Visualizer

__all__ = ['Sam3Visualizer']
