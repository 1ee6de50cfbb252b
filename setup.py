# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
# What an installed esam3 carries (repository path -> path in esam3/): in
# esam3/.mim (OpenMMLab layout) mmengine reads `esam3::stage1/tiny.py` from
# .mim/configs, `mim train esam3 ...` runs .mim/tools/train.py, and
# model-index.yml lists the configs; esam3/configs lets a new-style config
# elsewhere inherit a shipped one (`from esam3.configs.stage1.tiny import *`
# in `with read_base():`, the way mmdet ships mmdet/configs).
PACKAGED_FILES = (('configs', '.mim/configs'), ('tools', '.mim/tools'),
                  ('model-index.yml', '.mim/model-index.yml'), ('configs',
                                                                'configs'))


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'esam3', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'esam3/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    """Read one requirements file, following ``-r`` includes."""
    path = osp.join(HERE, fname)
    reqs = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Populate ``esam3/.mim`` with the configs, tools and model index, and
    ``esam3/configs`` with the configs.

    Editable installs (``develop`` / ``editable_wheel``) get symbolic links
    to the repository folders, so edited configs are seen at once; wheels and
    source distributions (``bdist_wheel``, ``sdist``, ``install``) get
    copies. Any other command (``egg_info``, metadata) leaves them as they
    are. The same scheme as mmdet's ``setup.py``.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('bdist_wheel', 'sdist', 'install')):
        mode = 'copy'
    else:
        return
    for name, packaged in PACKAGED_FILES:
        src = osp.join(HERE, name)
        dst = osp.join(HERE, 'esam3', packaged)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        if not osp.exists(src):
            if osp.exists(dst):  # a source distribution ships esam3/ only
                continue
            raise FileNotFoundError(
                f'setup.py: {src} is missing; it is packaged in esam3/')
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, osp.dirname(dst)), dst)
        elif osp.isdir(src):
            shutil.copytree(
                src,
                dst,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


add_mim_extension()

setup(
    name='esam3',
    version=get_version(),
    description='Progressive Hierarchical Distillation of SAM3 into '
    'on-device students, as an OpenMMLab plug-in library',
    long_description=open(osp.join(HERE, 'README.md'),
                          encoding='utf-8').read() if osp.exists(
                              osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(include=('esam3', 'esam3.*')),
    include_package_data=True,
    python_requires='>=3.9',
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={
        'tests':
        parse_requirements('requirements/tests.txt'),
        'optional':
        parse_requirements('requirements/optional.txt'),
        'mim':
        parse_requirements('requirements/mminstall.txt'),
        'all':
        parse_requirements('requirements/tests.txt') +
        parse_requirements('requirements/optional.txt'),
    },
    zip_safe=False,
)
