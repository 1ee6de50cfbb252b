# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from . import samplers, transforms  # noqa: F401
from .cached_feature_dataset import CachedTeacherFeatureDataset  # noqa: F401
from .coco_concept_dataset import CocoConceptDataset  # noqa: F401
from .coco_prompt_dataset import CocoPromptDataset  # noqa: F401
from .davis_dataset import DAVISDataset  # noqa: F401
from .phrase_dataset import PhraseDataset  # noqa: F401
from .sa1b_dataset import SA1BAnnotationError, SA1BDataset  # noqa: F401
from .saco_dataset import SACoDataset  # noqa: F401
from .saco_video_dataset import SACoVideoDataset  # noqa: F401
from .sav_dataset import SAVAnnotationError, SAVDataset  # noqa: F401
from .video_io import VideoReadError, probe_video  # noqa: F401
