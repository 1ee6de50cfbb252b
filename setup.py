# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


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


setup(
    name='esam3',
    version=get_version(),
    description='Progressive Hierarchical Distillation of SAM3 into '
    'on-device students, as an OpenMMLab plug-in library',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read()
    if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(include=('esam3', 'esam3.*')),
    include_package_data=True,
    python_requires='>=3.9',
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={
        'tests': parse_requirements('requirements/tests.txt'),
        'optional': parse_requirements('requirements/optional.txt'),
        'all': parse_requirements('requirements/tests.txt') +
        parse_requirements('requirements/optional.txt'),
    },
    zip_safe=False,
)
