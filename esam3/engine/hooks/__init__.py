# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .visualization_hook import Sam3VisualizationHook

__all__ = ['Sam3VisualizationHook']
from .vos_writer_hook import VOSPaletteWriterHook  # noqa: E402

__all__ += ['VOSPaletteWriterHook']
