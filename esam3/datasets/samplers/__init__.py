# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .source_batch_sampler import SourceBatchSampler  # noqa: F401
