# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Build the bundled phrase lists for text-encoder distillation.

Collects noun phrases from the category names of mmdet's COCO, LVIS v1 and
Objects365 v2 datasets (class tuples shipped in the mmdet package), plus any
SA-Co / COCO / LVIS json given with ``--extra``, normalises them
(underscores -> spaces), removes duplicates and writes ``train.txt`` and
``val.txt`` with the stable held-out split of
:class:`esam3.datasets.PhraseDataset` (1 in ``--val-every`` by md5)::

    python tools/misc/build_phrase_list.py --out-dir data/phrases \\
        --extra data/samples/saco/annotations.json
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out-dir', default='data/phrases')
    p.add_argument(
        '--extra',
        nargs='*',
        default=[],
        help='SA-Co / COCO / LVIS json files or .txt lists')
    p.add_argument('--val-every', type=int, default=10)
    return p.parse_args(argv)


def mmdet_class_names() -> List[str]:
    """COCO (80), LVIS v1 (1203) and Objects365 v2 (365) class names."""
    from mmdet.datasets import CocoDataset, LVISV1Dataset, Objects365V2Dataset

    import esam3  # noqa: F401  (mmcv-lite import patch for mmdet.datasets)
    names = []
    for ds in (CocoDataset, LVISV1Dataset, Objects365V2Dataset):
        names += list(ds.METAINFO['classes'])
    return names


def main(argv: Optional[List[str]] = None) -> int:
    from esam3.datasets.phrase_dataset import (is_held_out, normalise_phrase,
                                               read_phrases)
    from esam3.datasets.utils import SkipCounter
    args = parse_args(argv)
    skips = SkipCounter('build_phrase_list')
    phrases = [normalise_phrase(n) for n in mmdet_class_names()]
    for path in args.extra:
        phrases += read_phrases(path, skips)
    skips.log()
    seen, unique = set(), []
    for p in phrases:
        if p.lower() not in seen:
            seen.add(p.lower())
            unique.append(p.lower())
    os.makedirs(args.out_dir, exist_ok=True)
    val = [p for p in unique if is_held_out(p, args.val_every)]
    train = [p for p in unique if not is_held_out(p, args.val_every)]
    header = ('# noun phrases for text-encoder distillation, written by '
              'tools/misc/build_phrase_list.py\n')
    for name, items in (('train', train), ('val', val)):
        with open(osp.join(args.out_dir, f'{name}.txt'), 'w') as f:
            f.write(header + '\n'.join(items) + '\n')
    print(f'{len(train)} train / {len(val)} held-out phrases written to '
          f'{args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
