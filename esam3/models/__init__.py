# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from . import (backbones, data_preprocessors, distillers, heads, losses,
               memory, necks, teachers, trackers)  # noqa: F401
from . import efficient_sam3, sam3_promptable  # noqa: F401,E402
from . import task_modules  # noqa: F401,E402
from . import student_trunk  # noqa: F401,E402
