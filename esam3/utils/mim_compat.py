# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Let mmengine resolve ``esam3::`` config references and ``mim`` look-ups.

mmengine resolves ``mmengine.hub.get_config('esam3::stage1/tiny.py')`` (and
``_base_ = 'esam3::...'`` in old-style configs; esam3's own configs are
new-style, which an old-style file cannot inherit) in three steps: the
scope must be a key of ``mmengine.config.utils.MODULE2PACKAGE``, the package
must be found by ``is_installed``, and the file is read from
``<get_installed_path(package)>/.mim/configs/`` (populated by ``setup.py``).

Two things stop that for esam3 with mmengine 0.10.7 (the newest release):

* ``MODULE2PACKAGE`` is a fixed table of OpenMMLab packages;
  :func:`register_mim_package` adds ``esam3`` to it.
* ``is_installed`` and ``get_installed_path`` import ``pkg_resources``,
  which setuptools removed in version 81, and where it exists
  ``get_installed_path`` answers ``<site-packages>/esam3`` for an editable
  install (``pip install -e .``), a folder that does not exist.
  :func:`install_package_lookup` replaces both by ``importlib`` equivalents:
  the same answers for regular installs, and for editable ones the folder
  Python really imports the package from. Written by hand: no maintained
  package offers this switch for mmengine.
"""
import importlib
import importlib.metadata
import importlib.util
import os.path as osp

PATCH_MARKER = '__esam3_importlib_lookup__'


def register_mim_package(module: str = 'esam3',
                         package: str = 'esam3') -> None:
    """Make ``module::`` a config scope mmengine accepts.

    Args:
        module (str): Import name used before ``::``. Defaults to 'esam3'.
        package (str): pip distribution name. Defaults to 'esam3'.
    """
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE.setdefault(module, package)


def _module_spec(package: str):
    """The import spec of ``package``, also when the distribution name and the
    module name differ (read from the distribution's top_level.txt)."""
    spec = importlib.util.find_spec(package)
    if spec is not None:
        return spec
    try:
        top_level = importlib.metadata.distribution(package).read_text(
            'top_level.txt')
    except importlib.metadata.PackageNotFoundError:
        return None
    for name in (top_level or '').split():
        spec = importlib.util.find_spec(name)
        if spec is not None:
            return spec
    return None


def is_installed(package: str) -> bool:
    """``mmengine.utils.is_installed`` without ``pkg_resources``.

    Args:
        package (str): Distribution or module name.

    Returns:
        bool: Whether the distribution is installed or the module importable
        (not a namespace package).
    """
    try:
        importlib.metadata.distribution(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` without ``pkg_resources``.

    Args:
        package (str): Distribution or module name.

    Returns:
        str: The folder Python imports the package from.

    Raises:
        ModuleNotFoundError: ``package`` is neither installed nor importable.
        RuntimeError: ``package`` is a namespace package (no single folder).
    """
    spec = _module_spec(package)
    if spec is None:
        raise ModuleNotFoundError(
            f'get_installed_path: package "{package}" is not installed and '
            'not importable')
    if spec.origin is None:
        raise RuntimeError(
            f'get_installed_path: "{package}" is a namespace package, which '
            'has no single installed path')
    return osp.dirname(spec.origin)


def install_package_lookup() -> bool:
    """Replace mmengine's ``is_installed`` / ``get_installed_path`` by the
    ``importlib`` versions of this module.

    mmengine imports the two functions by name into several modules, so each
    of them is patched. Calling it again does nothing.

    Returns:
        bool: True once the functions are replaced.
    """
    import mmengine.utils as mm_utils
    import mmengine.utils.package_utils as package_utils
    if getattr(package_utils.get_installed_path, PATCH_MARKER, False):
        return True
    import mmengine.config.config as config_module
    import mmengine.hub.hub as hub_module
    setattr(is_installed, PATCH_MARKER, True)
    setattr(get_installed_path, PATCH_MARKER, True)
    for module in (package_utils, mm_utils, config_module, hub_module):
        if hasattr(module, 'is_installed'):
            module.is_installed = is_installed
        if hasattr(module, 'get_installed_path'):
            module.get_installed_path = get_installed_path
    return True
