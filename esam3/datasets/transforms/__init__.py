# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .concept_transforms import PackConceptInputs  # noqa: F401
from .filter_empty_instances import FilterEmptyInstances  # noqa: F401
from .loading import LoadImageFromFile, LoadRLEAnnotations  # noqa: F401
from .pad_bottom_right import PadBottomRight  # noqa: F401
from .sam3_resize import Sam3Resize, resize_square  # noqa: F401
from .sample_instances import SampleInstances  # noqa: F401
from .video_transforms import LoadVideoClip, PackVideoInputs  # noqa: F401
