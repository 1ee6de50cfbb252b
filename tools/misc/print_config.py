# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Print (and optionally save) the fully merged config.

Example::

    python tools/misc/print_config.py configs/stage1/tiny.py \
        --cfg-options train_cfg.max_iters=10
"""
import argparse
import sys
from typing import List, Optional

import esam3  # noqa: F401  (mmcv-lite shim before any mmdet import)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: arguments (default: ``sys.argv[1:]``).

    Returns:
        The parsed namespace.
    """
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Print the full config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--save-path',
        help='also write the merged config '
        '(.py / .json / .yaml)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    """Print the merged config.

    Args:
        argv: command-line arguments.

    Returns:
        The printed text.
    """
    from esam3.engine.runner_utils import load_config, merge_cli_options
    args = parse_args(argv)
    cfg = load_config(args.config)
    merge_cli_options(cfg, args.cfg_options)
    text = cfg.pretty_text
    print(f'Config:\n{text}')
    if args.save_path:
        cfg.dump(args.save_path)
        print(f'Config saved to {args.save_path}')
    return text


if __name__ == '__main__':
    main()
    sys.exit(0)
