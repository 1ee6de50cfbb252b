# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .base_distiller import BaseDistiller
from .stage1_distiller import Stage1Distiller
from .stage3_distiller import Stage3Distiller

__all__ = ['BaseDistiller', 'Stage1Distiller', 'Stage3Distiller']
from .stage2_distiller import Stage2Distiller  # noqa: E402

__all__ += ['Stage2Distiller']
from .text_distiller import TextDistiller  # noqa: E402

__all__ += ['TextDistiller']
from .sam3_finetuner import Sam3FineTuner  # noqa: E402

__all__ += ['Sam3FineTuner']
