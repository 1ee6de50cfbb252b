# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Concept (noun phrase) samples from any COCO / LVIS instance json."""
import logging
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional

import numpy as np
from mmengine.fileio import load
from mmengine.logging import print_log

from esam3.registry import DATASETS
from .saco_dataset import SACoDataset, check_phrase


def _phrase(name: str) -> str:
    """LVIS names use underscores (``aerosol_can``): make them phrases."""
    return ' '.join(name.replace('_', ' ').split())


@DATASETS.register_module()
class CocoConceptDataset(SACoDataset):
    """COCO/LVIS instances turned into image / noun-phrase pairs.

    For every image: one positive sample per category present (all its
    instances; crowd regions are kept as ignored instances), plus
    ``num_negatives`` negative samples of absent categories. Negatives come
    from LVIS's verified ``neg_category_ids`` when the image has them,
    otherwise from the categories without any annotation in the image (COCO
    is exhaustively labelled); they are drawn once with ``seed`` so the
    dataset is fixed. The phrase is the category name (underscores ->
    spaces); in training, with ``use_synonyms``, a random LVIS ``synonyms``
    entry when the category has some. ``label`` is the category index
    (categories sorted by id, MMDetection convention).

    Exemplar and hard-negative sampling are those of :class:`SACoDataset`.

    Custom data (fine-tuning, ``configs/finetune``): a category may carry a
    ``noun_phrase`` field, used as the phrase instead of its ``name``.
    Categories without any instance in the file are counted and logged
    (they only serve as negative phrases); with ``max_phrase_tokens`` a
    phrase longer than the text encoder's context raises, naming the file,
    the category id and the field.

    Args:
        num_negatives (int): Negative pairs per image. Defaults to 1.
        use_synonyms (bool): Sample LVIS synonyms in training.
            Defaults to True.
        seed (int): Seed of the negative-category draw. Defaults to 0.
        max_phrase_tokens (int, optional): Token budget of a phrase including
            SAM3's start / end tokens (SAM3: 32); None = no check (the
            tokenizer then truncates with a warning).
        **kwargs: :class:`SACoDataset` arguments (``data_root``,
            ``ann_file``, ``data_prefix``, ``exemplar_prob``...).
    """

    METAINFO: dict = dict(classes=None)

    def __init__(self,
                 num_negatives: int = 1,
                 use_synonyms: bool = True,
                 seed: int = 0,
                 max_phrase_tokens: Optional[int] = None,
                 **kwargs) -> None:
        self.max_phrase_tokens = max_phrase_tokens
        self.num_negatives = int(num_negatives)
        self.use_synonyms = use_synonyms
        self.seed = seed
        self.synonyms: Dict[str, List[str]] = {}
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        """Positive pairs per present category + sampled negatives (a pair with
        an invalid mask is skipped and counted, see
        :meth:`SACoDataset._instances`)."""
        self._start_skips()
        data = load(self.ann_file)
        cats = sorted(data['categories'], key=lambda c: c['id'])
        label_of = {c['id']: i for i, c in enumerate(cats)}
        name_of = {}
        for c in cats:
            field = 'noun_phrase' if 'noun_phrase' in c else 'name'
            name = _phrase(
                check_phrase(c.get(field), c.get('id'), f'category {field}'))
            self._check_length(name, c.get('id'), field)
            name_of[c['id']] = name
            syn = [
                _phrase(s) for s in c.get('synonyms', [])
                if isinstance(s, str) and s.strip()
            ]
            self.synonyms[name] = sorted(set(syn) - {name})
        # classes keep the json's category names (mmdet's CocoMetric maps
        # labels back to category ids by name); phrases are only the text
        self._metainfo['classes'] = tuple(c['name'] for c in cats)
        anns = defaultdict(lambda: defaultdict(list))
        for a in data.get('annotations', []):
            anns[a['image_id']][a['category_id']].append(a)
        used = {a['category_id'] for a in data.get('annotations', [])}
        unused = [c['id'] for c in cats if c['id'] not in used]
        if unused:
            print_log(
                f'{type(self).__name__}({self.ann_file}): {len(unused)} of '
                f'{len(cats)} categories have no instance (field '
                f'"categories", ids {unused[:10]}); they are used only as '
                'negative phrases',
                logger='current',
                level=logging.WARNING)
        self.unused_categories = unused
        rng = np.random.RandomState(self.seed)
        img_prefix = self.data_prefix.get('img', '')
        all_ids = [c['id'] for c in cats]
        data_list = []
        for img in data['images']:
            h, w = int(img['height']), int(img['width'])
            img_path = osp.join(img_prefix, self._file_name(img))
            present = anns[img['id']]
            for cid in sorted(present):
                name = name_of[cid]
                self.positive_phrases[img_path].update([name] +
                                                       self.synonyms[name])
                instances = self._instances(present[cid], h, w, label_of[cid],
                                            img['id'])
                if instances is None:
                    continue
                data_list.append(
                    dict(
                        img_path=img_path,
                        img_id=img['id'],
                        height=h,
                        width=w,
                        text=name,
                        is_negative=False,
                        label=label_of[cid],
                        instances=instances))
            cands = img.get('neg_category_ids') or [
                c for c in all_ids if c not in present
            ]
            cands = [c for c in cands if c in name_of and c not in present]
            num = min(self.num_negatives, len(cands))
            for cid in (rng.choice(cands, num, replace=False) if num else []):
                data_list.append(
                    dict(
                        img_path=img_path,
                        img_id=img['id'],
                        height=h,
                        width=w,
                        text=name_of[int(cid)],
                        is_negative=True,
                        label=label_of[int(cid)],
                        instances=[]))
        self.all_phrases = sorted(name_of.values())
        self._log_skips()
        return data_list

    def _check_length(self, phrase: str, cat_id, field: str) -> None:
        """Raise when ``phrase`` does not fit ``max_phrase_tokens``."""
        if self.max_phrase_tokens is None:
            return
        from esam3.models.teachers.sam3_tokenizer import Sam3Tokenizer
        if not hasattr(self, '_tokenizer'):
            self._tokenizer = Sam3Tokenizer()
        n = len(self._tokenizer.encode(phrase)) + 2  # + start / end
        if n > self.max_phrase_tokens:
            raise ValueError(
                f'{self.ann_file}: category id={cat_id}: {field} {phrase!r} '
                f'is {n} tokens with start/end, longer than the text '
                f'context ({self.max_phrase_tokens})')

    @staticmethod
    def _file_name(img: dict) -> str:
        """COCO ``file_name``; LVIS has only ``coco_url`` (split/name)."""
        if img.get('file_name'):
            return img['file_name']
        if img.get('coco_url'):
            return '/'.join(img['coco_url'].split('/')[-2:])
        raise KeyError(f'image id={img.get("id")} has neither file_name nor '
                       'coco_url')

    def sample_phrase(self, info: dict) -> None:
        """Use a random LVIS synonym of the category as phrase (training)."""
        if not self.use_synonyms:
            return
        choices = [info['text']] + self.synonyms.get(info['text'], [])
        if len(choices) > 1:
            info['text'] = str(np.random.choice(choices))
