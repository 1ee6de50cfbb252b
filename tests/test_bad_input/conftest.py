# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
# Make tests/toy importable (esam3_toy_modules, esam3_toy_helpers): the
# package name ``tests`` is taken by an unrelated site-packages package.
import os.path as osp
import sys

_TOY = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'toy')
if _TOY not in sys.path:
    sys.path.insert(0, _TOY)
