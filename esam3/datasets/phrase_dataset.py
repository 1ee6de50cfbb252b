# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Noun phrases (no images) for text-encoder distillation."""
import hashlib
import os.path as osp
from typing import Iterable, List, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.fileio import load

from esam3.registry import DATASETS
from .utils import SkipCounter

SPLITS = ('all', 'train', 'val')


def is_held_out(phrase: str, val_every: int) -> bool:
    """Stable held-out split: 1 in ``val_every`` phrases by the md5 of the
    lower-cased phrase (the same phrase is held out in every corpus)."""
    digest = hashlib.md5(phrase.lower().encode('utf-8')).hexdigest()
    return int(digest[:8], 16) % int(val_every) == 0


def normalise_phrase(name: str) -> str:
    """Category names -> phrases: ``'fire_hydrant'`` -> ``'fire hydrant'``,
    whitespace collapsed."""
    return ' '.join(name.replace('_', ' ').split())


def read_phrases(path: str, skips: SkipCounter) -> List[str]:
    """Phrases of one source file, in file order.

    ``.txt``: one phrase per line (blank lines and ``#`` comments ignored).
    ``.json``: an SA-Co file (``images[*].text_input``) and/or a COCO / LVIS
    file (``categories[*].name`` and LVIS ``synonyms``). Entries that are
    not non-empty strings are counted and skipped.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'phrase file not found: {path}')
    if path.endswith('.txt'):
        with open(path, encoding='utf-8') as f:
            lines = [ln.strip() for ln in f]
        return [ln for ln in lines if ln and not ln.startswith('#')]
    data = load(path)
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a json object (SA-Co / COCO '
                         'style), got ' + type(data).__name__)
    found: List = []
    for img in data.get('images', []):
        if 'text_input' in img:
            found.append((img.get('text_input'), f'image id={img.get("id")}'))
    for cat in data.get('categories', []):
        where = f'category id={cat.get("id")}'
        found.append((cat.get('name'), where))
        for syn in cat.get('synonyms', []) or []:
            found.append((syn, where + ' synonym'))
    if not found:
        raise ValueError(f'{path}: no images[*].text_input and no '
                         'categories[*].name: not a phrase source')
    out = []
    for text, where in found:
        if not isinstance(text, str) or not text.strip():
            skips.add('not_a_phrase', example=f'{path} {where}: {text!r}')
            continue
        out.append(normalise_phrase(text))
    return out


@DATASETS.register_module()
class PhraseDataset(BaseDataset):
    """Noun phrases for :class:`~esam3.models.TextDistiller`.

    Reads one or more sources (see :func:`read_phrases`: bundled
    ``data/phrases/*.txt`` lists, SA-Co jsons, COCO / LVIS annotation files),
    removes duplicates (case-insensitive, first spelling kept, counted in
    the log) and keeps the ``split``: ``'train'`` / ``'val'`` by a stable
    hash of each phrase (:func:`is_held_out`), or ``'all'`` (e.g. for the
    5,184 SA-Co/VEval phrases of the real evaluation protocol). A sample is
    ``dict(inputs=phrase, data_samples=dict(text=phrase, phrase_id=i))``.

    Args:
        ann_file (str | Sequence[str]): source file(s), relative to
            ``data_root``.
        split (str): ``'all'``, ``'train'`` or ``'val'``. Defaults to
            ``'all'``.
        val_every (int): 1 in ``val_every`` phrases is held out. Defaults
            to 10.
        **kwargs: forwarded to :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO: dict = dict(classes=('phrase', ))

    def __init__(self,
                 ann_file: Union[str, Sequence[str]] = '',
                 split: str = 'all',
                 val_every: int = 10,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'PhraseDataset: split must be one of {SPLITS}, '
                             f'got {split!r}')
        if int(val_every) < 2:
            raise ValueError(f'val_every must be >= 2, got {val_every}')
        self.sources = [ann_file] if isinstance(ann_file, str) \
            else list(ann_file)
        self.split = split
        self.val_every = int(val_every)
        super().__init__(ann_file='', **kwargs)

    def _source_paths(self) -> Iterable[str]:
        for src in self.sources:
            yield src if osp.isabs(src) or not self.data_root \
                else osp.join(self.data_root, src)

    def load_data_list(self) -> List[dict]:
        skips = SkipCounter(f'PhraseDataset({self.split})')
        seen, phrases = set(), []
        for path in self._source_paths():
            for text in read_phrases(path, skips):
                key = text.lower()
                if key in seen:
                    skips.add('duplicate')
                    continue
                seen.add(key)
                if self.split == 'all' or (is_held_out(text, self.val_every)
                                           == (self.split == 'val')):
                    phrases.append(text)
        skips.log()
        if not phrases:
            raise ValueError(f'PhraseDataset: no {self.split} phrases in '
                             f'{list(self._source_paths())}')
        return [dict(text=p) for p in phrases]

    def prepare_data(self, idx: int) -> dict:
        """``dict(inputs=phrase, data_samples=dict(text, phrase_id))``: what
        :class:`~esam3.models.TextDistiller` takes (no pipeline needed)."""
        info = self.get_data_info(idx)
        info = self.pipeline(info)
        text = info['text']
        return dict(
            inputs=text, data_samples=dict(text=text, phrase_id=int(idx)))
