# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""esam3 makes mmengine's ``package::`` config look-up usable."""
import os.path as osp

import mmdet
import mmengine.config.config as config_module
import pytest
from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

import esam3
from esam3.utils import mim_compat


def test_esam3_is_a_config_scope_after_import():
    assert MODULE2PACKAGE['esam3'] == 'esam3'
    # mmdet's own entry is untouched
    assert MODULE2PACKAGE['mmdet'] == 'mmdet'


def test_importlib_lookup_finds_the_imported_package():
    assert mim_compat.get_installed_path('esam3') == osp.dirname(
        esam3.__file__)
    assert mim_compat.get_installed_path('mmdet') == osp.dirname(
        mmdet.__file__)
    assert mim_compat.is_installed('esam3')
    assert not mim_compat.is_installed('esam3_no_such_package')
    with pytest.raises(ModuleNotFoundError, match='esam3_no_such_package'):
        mim_compat.get_installed_path('esam3_no_such_package')


def test_mmengine_lookup_is_replaced_everywhere_it_is_imported():
    import mmengine.utils as mm_utils
    import mmengine.utils.package_utils as package_utils
    for module in (config_module, package_utils, mm_utils):
        assert module.get_installed_path is mim_compat.get_installed_path
        assert module.is_installed is mim_compat.is_installed
    assert mim_compat.install_package_lookup()  # idempotent


def test_external_base_config_resolves(tmp_path):
    """``mmdet::`` resolves through the installed mmdet's .mim folder (the
    mechanism ``esam3::`` uses once esam3 is installed)."""
    mim_cfg = osp.join(
        osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_',
        'default_runtime.py')
    if not osp.isfile(mim_cfg):
        pytest.skip(f'this mmdet install has no {mim_cfg}')
    cfg_file = tmp_path / 'child.py'
    cfg_file.write_text("_base_ = 'mmdet::_base_/default_runtime.py'\n"
                        'log_level = "DEBUG"\n')
    cfg = Config.fromfile(str(cfg_file), format_python_code=False)
    assert cfg.default_scope == 'mmdet'
    assert cfg.log_level == 'DEBUG'
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'
