# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from . import transforms  # noqa: F401
from .cached_feature_dataset import CachedTeacherFeatureDataset  # noqa: F401
from .sa1b_dataset import SA1BAnnotationError, SA1BDataset  # noqa: F401
from .coco_prompt_dataset import CocoPromptDataset  # noqa: F401
