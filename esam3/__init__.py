# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""esam3: Progressive Hierarchical Distillation of SAM3 into on-device models.

Importing esam3 installs the mmcv-lite shim (see
:mod:`esam3.utils.mmcv_compat`) so that MMDetection's pure-Python modules
can be imported; it is a no-op when compiled mmcv ops are installed. It also
makes ``esam3::`` config references resolvable by mmengine (see
:mod:`esam3.utils.mim_compat`).
"""
from .utils.mim_compat import install_package_lookup, register_mim_package
from .utils.mmcv_compat import install_mmcv_ext_stub
from .version import __version__, version_info

install_mmcv_ext_stub()
register_mim_package()
install_package_lookup()

__all__ = ['__version__', 'version_info']
