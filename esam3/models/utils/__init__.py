# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
