# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""An installed esam3 ships its configs: from another folder, an ``esam3::``
config reference resolves inside the package Python imports (copies in a
regular install, links to the checkout in an editable one), a new-style
config there inherits a shipped one (``from esam3.configs.stage1.tiny import
*``), and its model builds through the registry.

Needs pip to reach the package registry (build isolation fetches
setuptools); 30-40 s per install on the 2-core dev box.
"""
import os
import os.path as osp
import shutil
import subprocess
import sys
import textwrap

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CHECK = textwrap.dedent("""
    import os.path as osp
    import esam3
    from mmengine.config import Config
    from mmengine.hub import get_config
    from mmengine.registry import init_default_scope
    from esam3.registry import MODELS

    pkg = osp.dirname(esam3.__file__)
    assert pkg.startswith(osp.realpath({where!r})), pkg
    hub_cfg = get_config('esam3::stage1/tiny.py')
    assert hub_cfg.filename == osp.join(
        pkg, '.mim', 'configs', 'stage1', 'tiny.py'), hub_cfg.filename
    # a new-style config here inherits the shipped one and changes a value
    cfg = Config.fromfile('user_cfg.py', format_python_code=False)
    assert cfg.model.student.trunk.backbone.model_name == 'efficientvit_b1'
    hub_cfg.model.student.trunk.backbone.model_name = 'efficientvit_b1'
    assert cfg.model == hub_cfg.model
    # what the Runner writes into a work dir loads again
    cfg.dump('dumped.py')
    assert Config.fromfile('dumped.py').model == cfg.model
    assert osp.isfile(osp.join(pkg, '.mim', 'model-index.yml'))
    assert osp.isfile(osp.join(pkg, '.mim', 'tools', 'train.py'))
    init_default_scope('esam3')
    model = MODELS.build(cfg.model)
    print('BUILT', type(model).__name__,
          cfg.model.student.trunk.backbone.model_name)
""")

USER_CFG = textwrap.dedent("""
    from mmengine.config import read_base

    with read_base():
        from esam3.configs.stage1.tiny import *

    model.student.trunk.backbone.model_name = 'efficientvit_b1'
""")


def _run(cmd, cwd, env):
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f'{" ".join(cmd)} failed ({proc.returncode}):\n'
        f'{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize('editable', [False, True])
def test_installed_package_resolves_and_builds_a_packaged_config(
        tmp_path, editable):
    src = tmp_path / 'src'
    # a copy, so the build's esam3/.mim lands outside the checkout
    shutil.copytree(
        REPO,
        src,
        ignore=shutil.ignore_patterns('.git', '__pycache__', '*.pyc', '.mim',
                                      'work_dirs', 'build', 'dist',
                                      '*.egg-info', 'data', 'docs', 'outputs'))
    venv = str(tmp_path / 'venv')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    _run([sys.executable, '-m', 'venv', '--system-site-packages', venv],
         str(tmp_path), env)
    python = osp.join(venv, 'bin', 'python')
    _run([python, '-m', 'pip', 'install', '-q', '--no-deps'] +
         (['-e'] if editable else []) + [str(src)], str(tmp_path), env)
    for packaged in ('.mim/configs', 'configs'):
        assert (src / 'esam3' / packaged).is_symlink() == editable
    other = tmp_path / 'elsewhere'
    other.mkdir()
    (other / 'user_cfg.py').write_text(USER_CFG)
    where = str(src) if editable else venv
    (other / 'check.py').write_text(CHECK.format(where=where))
    out = _run([python, 'check.py'], str(other), env)
    assert 'BUILT Stage1Distiller efficientvit_b1' in out
