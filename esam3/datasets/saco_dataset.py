# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SA-Co image / noun-phrase pairs for promptable concept segmentation."""
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.fileio import load
from pycocotools import mask as mask_utils

from esam3.registry import DATASETS
from .utils import (InvalidRLEError, SkipCounter, UnreadableImageSkipper,
                    check_rle, to_compressed_rle)


def check_phrase(phrase, img_id, what: str = 'text_input') -> str:
    """Return the stripped phrase, or raise ValueError naming the image."""
    if not isinstance(phrase, str) or not phrase.strip():
        raise ValueError(f'image(-phrase pair) id={img_id}: {what} must be a '
                         f'non-empty string, got {phrase!r}')
    return phrase.strip()


def clip_boxes(boxes: np.ndarray, height: float, width: float) -> np.ndarray:
    """Clip xyxy boxes to the image and drop the ones left empty."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[keep]


@DATASETS.register_module()
class SACoDataset(BaseDataset):
    """SA-Co (SA-Co/Gold, /Silver style) COCO json of image-phrase pairs.

    Each ``images`` entry is one image / noun-phrase (``text_input``) pair
    and one sample. Its ``annotations`` (RLE masks) are the positive
    instances; a pair without annotations is a negative
    (``is_negative=True``, no instances). Instance boxes are computed from the
    masks (SA-Co stores normalised ``bbox``), clipped to the image.

    Training-time sampling (not in test mode):

    * exemplars: with probability ``exemplar_prob`` a positive sample gets
      1..``max_exemplars`` boxes of its own instances, stored in the results
      as ``exemplar_boxes`` (original pixels, clipped, empty ones dropped);
      :class:`PackConceptInputs` maps them to input coordinates with the same
      resize/flip as the image. In test mode the first
      ``num_test_exemplars`` instance boxes are used.
    * hard negatives: with probability ``hard_negative_prob`` the phrase is
      replaced by a confusable phrase (``confusable_phrases[phrase]``, or any
      other phrase of the dataset) not positive in the same image; the sample
      becomes a negative without instances or exemplars.

    Results fields given to the pipeline: ``img_path``, ``img_id``,
    ``height``, ``width``, ``instances`` (mmdet style: ``bbox`` xyxy,
    ``bbox_label``, ``mask`` RLE, ``ignore_flag``), ``text``,
    ``is_negative``, ``label``, ``exemplar_boxes``, ``gt_rles``.

    Args:
        data_root (str): Dataset root.
        ann_file (str): SA-Co json.
        data_prefix (dict): ``img``: image folder. Defaults to
            ``dict(img='')``.
        exemplar_prob (float): Probability that a positive training sample
            gets exemplar boxes. Defaults to 0.
        max_exemplars (int): Most exemplars per sample. Defaults to 2.
        num_test_exemplars (int): Exemplars in test mode. Defaults to 0.
        hard_negative_prob (float): Probability of turning a training sample
            into a hard negative. Defaults to 0.
        confusable_phrases (dict | str, optional): ``{phrase: [phrases]}``
            or the path of a json file holding it.
        exhaustive_only (bool): Keep only pairs with
            ``is_instance_exhaustive`` (SA-Co evaluation). Defaults to False.
        **kwargs: Forwarded to :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO: dict = dict(classes=('object', ))

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: Optional[dict] = None,
                 exemplar_prob: float = 0.0,
                 max_exemplars: int = 2,
                 num_test_exemplars: int = 0,
                 hard_negative_prob: float = 0.0,
                 confusable_phrases: Union[dict, str, None] = None,
                 exhaustive_only: bool = False,
                 **kwargs) -> None:
        self.exemplar_prob = float(exemplar_prob)
        self.max_exemplars = int(max_exemplars)
        self.num_test_exemplars = int(num_test_exemplars)
        self.hard_negative_prob = float(hard_negative_prob)
        self.exhaustive_only = exhaustive_only
        if isinstance(confusable_phrases, str):
            if data_root and not osp.isabs(confusable_phrases):
                confusable_phrases = osp.join(data_root, confusable_phrases)
            confusable_phrases = load(confusable_phrases)
        self.confusable_phrases: Dict[str, List[str]] = {
            k.strip():
            [p.strip() for p in v if isinstance(p, str) and p.strip()]
            for k, v in (confusable_phrases or {}).items()
        }
        # phrases positive per image file / all phrases: hard negatives
        self.positive_phrases: Dict[str, set] = defaultdict(set)
        self.all_phrases: List[str] = []
        self.skip_counts: Dict[str, int] = {}
        self.unreadable = UnreadableImageSkipper(
            f'{type(self).__name__}({ann_file})')
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix or dict(img=''),
            **kwargs)

    # ------------------------------------------------------------ loading
    @staticmethod
    def _instance(ann: dict, height: int, width: int, label: int = 0) -> dict:
        """Mmdet-style instance from a SA-Co/COCO annotation.

        Raises:
            InvalidRLEError: the segmentation is not a valid polygon / RLE
                (e.g. garbage ``counts``).
        """
        segm = ann.get('segmentation')
        ignore = int(bool(ann.get('iscrowd', 0)))
        if segm:
            if isinstance(segm, dict):
                check_rle(segm)
            try:
                rle = to_compressed_rle(segm, height, width)
            except (TypeError, ValueError) as err:
                raise InvalidRLEError(str(err)) from err
            x, y, w, h = mask_utils.toBbox(rle).tolist()
        else:  # box only (ignored): SA-Co boxes are normalised, COCO pixels
            x, y, w, h = [float(v) for v in ann['bbox']]
            if max(x + w, y + h) <= 1.0:
                x, w, y, h = x * width, w * width, y * height, h * height
            rect = [[x, y, x + w, y, x + w, y + h, x, y + h]]
            rle = to_compressed_rle(rect, height, width)
            ignore = 1
        box = clip_boxes([x, y, x + w, y + h], height, width)
        box = box[0].tolist() if len(box) else [x, y, x, y]
        return dict(bbox=box, bbox_label=label, mask=rle, ignore_flag=ignore)

    def _instances(self, anns: Sequence[dict], height: int, width: int,
                   label: int, img_id) -> Optional[List[dict]]:
        """The pair's instances, or None (counted as ``invalid_rle``, with
        file, image and annotation id) when one segmentation is invalid:

        dropping only that instance would turn a positive into a wrong
        negative, so the whole pair is skipped.
        """
        out = []
        for ann in anns:
            try:
                out.append(self._instance(ann, height, width, label))
            except InvalidRLEError as err:
                self._skips.add(
                    'invalid_rle',
                    example=(
                        f'{self.ann_file} image id {img_id} annotation id '
                        f'{ann.get("id")}: {err}'))
                return None
        return out

    def _start_skips(self) -> None:
        self._skips = SkipCounter(f'{type(self).__name__}({self.ann_file})')

    def _log_skips(self) -> None:
        self.skip_counts = self._skips.as_dict()
        self._skips.log()

    def load_data_list(self) -> List[dict]:
        """One entry per image-phrase pair (pairs with an invalid mask are
        skipped, counted in :attr:`skip_counts` and logged once)."""
        self._start_skips()
        data = load(self.ann_file)
        anns = defaultdict(list)
        for a in data.get('annotations', []):
            anns[a['image_id']].append(a)
        img_prefix = self.data_prefix.get('img', '')
        data_list = []
        for img in data['images']:
            phrase = check_phrase(img.get('text_input'), img.get('id'))
            if self.exhaustive_only and not img.get('is_instance_exhaustive',
                                                    1):
                continue
            h, w = int(img['height']), int(img['width'])
            instances = self._instances(anns[img['id']], h, w, 0, img['id'])
            if instances is None:
                continue
            img_path = osp.join(img_prefix, img['file_name'])
            if instances:
                self.positive_phrases[img_path].add(phrase)
            data_list.append(
                dict(
                    img_path=img_path,
                    img_id=img['id'],
                    height=h,
                    width=w,
                    text=phrase,
                    is_negative=not instances,
                    label=0,
                    instances=instances))
        self.all_phrases = sorted({d['text'] for d in data_list})
        self._log_skips()
        return data_list

    # ----------------------------------------------------------- sampling
    def sample_phrase(self, info: dict) -> None:
        """Hook to vary the phrase of a training sample (no-op here)."""

    def sample_hard_negative(self, info: dict) -> None:
        """Replace the phrase by a confusable absent one (in place)."""
        present = self.positive_phrases.get(info['img_path'], set())
        present = present | {info['text']}
        cands = [
            p for p in self.confusable_phrases.get(info['text'], [])
            if p not in present
        ]
        if not cands:
            cands = [p for p in self.all_phrases if p not in present]
        if not cands:
            return
        info.update(
            text=str(np.random.choice(cands)),
            is_negative=True,
            instances=[],
            hard_negative=True)

    def sample_exemplars(self, info: dict) -> None:
        """Set ``exemplar_boxes`` (original pixels, float32 ``[E, 4]``)."""
        boxes = [i['bbox'] for i in info['instances'] if not i['ignore_flag']]
        chosen: Sequence[int] = []
        if boxes and self.test_mode:
            chosen = range(min(self.num_test_exemplars, len(boxes)))
        elif boxes and np.random.rand() < self.exemplar_prob:
            k = np.random.randint(1, min(self.max_exemplars, len(boxes)) + 1)
            chosen = sorted(np.random.choice(len(boxes), k, replace=False))
        info['exemplar_boxes'] = clip_boxes([boxes[i] for i in chosen],
                                            info['height'], info['width'])

    def prepare_data(self, idx: int):
        """Sample hard negatives / exemplars, then run the pipeline (None,
        logged and counted, for an image that does not decode in training)."""
        info = self.get_data_info(idx)
        if not self.test_mode:
            self.sample_phrase(info)
            if np.random.rand() < self.hard_negative_prob:
                self.sample_hard_negative(info)
        h, w = info['height'], info['width']
        for inst in info['instances']:
            inst['mask'] = to_compressed_rle(inst['mask'], h, w)
        self.sample_exemplars(info)
        info['gt_rles'] = [
            i['mask'] for i in info['instances'] if not i['ignore_flag']
        ]
        return self.unreadable.run(self.pipeline, info, self.test_mode)
