# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from . import functional  # noqa: F401,E402
from . import metrics  # noqa: F401
