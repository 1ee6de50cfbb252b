# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Make the shared test helpers importable: tests/toy (esam3_toy_modules,
# esam3_toy_helpers) and tests/test_apis (api_fixtures). The package name
# ``tests`` is taken by an unrelated site-packages package.
import os.path as osp
import sys

_TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))
for _dir in (osp.join(_TESTS, 'toy'), osp.join(_TESTS, 'test_apis')):
    if _dir not in sys.path:
        sys.path.insert(0, _dir)
