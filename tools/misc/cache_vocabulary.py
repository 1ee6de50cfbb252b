# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Precompute the text embeddings of a fixed vocabulary.

Runs the text encoder of a Stage 1/3 config's student (loaded strictly from
``--checkpoint``; with ``model.student.text_student`` set, the distilled
light text encoder) or of its teacher (``--use-teacher``) on every phrase of
``--phrases`` (one per line, ``#`` comments, or an SA-Co / COCO / LVIS
json) and writes one file holding the projected per-token features
``[N, L, C]``, the token masks ``[N, L]`` and which text encoder made them
(kind, size, weight fingerprint). ``ImagePredictor.predict_concept(...,
text_embeddings=TextEmbeddings.load(FILE))`` then needs no text encoder, and
refuses a file made by another encoder, naming both::

    python tools/misc/cache_vocabulary.py configs/stage3/tiny.py \\
        --phrases data/phrases/val.txt --out work_dirs/vocab.pt \\
        --checkpoint work_dirs/stage3_tiny/iter_100.pth
"""
import argparse
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--phrases', required=True, help='.txt or .json source')
    p.add_argument('--out', required=True, help='output file (.pt)')
    p.add_argument('--checkpoint', default=None)
    p.add_argument('--use-teacher', action='store_true')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--device', default='cpu')
    p.add_argument(
        '--add-visual',
        action='store_true',
        help="also cache SAM3's generic phrase 'visual' "
        '(exemplar-only prompts)')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    from esam3.apis import ImagePredictor
    from esam3.apis.text_embeddings import describe_identity
    from esam3.datasets.phrase_dataset import read_phrases
    from esam3.datasets.utils import SkipCounter
    args = parse_args(argv)
    skips = SkipCounter('cache_vocabulary')
    phrases = list(dict.fromkeys(read_phrases(args.phrases, skips)))
    skips.log()
    if args.add_visual and 'visual' not in phrases:
        phrases.append('visual')
    pred = ImagePredictor.from_config(
        args.config,
        checkpoint=args.checkpoint,
        use_teacher=args.use_teacher,
        device=args.device)
    cache = pred.encode_text(phrases, batch_size=args.batch_size)
    cache.save(args.out)
    n, length, c = cache.features.shape
    print(f'{n} phrases x {length} tokens x {c} channels written to '
          f'{args.out}, made by {describe_identity(cache.encoder)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
