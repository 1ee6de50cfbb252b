# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from . import (backbones, data_preprocessors, distillers, efficient_sam3,
               heads, losses, memory, necks, sam3_promptable, sam3_trainable,
               student_trunk, task_modules, teachers, text, trackers)
