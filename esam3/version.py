# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """Split ``'0.1.0rc1'`` style strings into a comparable tuple."""
    parts = []
    for x in version_str.split('.'):
        if x.isdigit():
            parts.append(int(x))
        else:
            parts.append(x)
    return tuple(parts)


version_info = parse_version_info(__version__)
