# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""COCO-style instance masks for promptable-segmentation evaluation."""
import json
from typing import List, Union

from mmdet.datasets import CocoDataset
from mmengine.registry import DefaultScope

from esam3.registry import DATASETS
from .utils import (InvalidRLEError, SkipCounter, UnreadableImageSkipper,
                    check_rle)


@DATASETS.register_module()
class CocoPromptDataset(CocoDataset):
    """COCO / LVIS instance json read into esam3's packed image format.

    Extends mmdet's :class:`~mmdet.datasets.CocoDataset`: every image keeps
    its non-crowd instances (crowd regions are dropped, not ignored, since a
    prompt on a crowd region has no single-object answer), each instance
    carries its category ``name`` (packed as metainfo ``gt_names`` by
    :class:`~esam3.datasets.transforms.LoadRLEAnnotations`), and
    ``gt_instances.labels`` index ``dataset.metainfo['classes']``.

    Unless ``metainfo=dict(classes=...)`` is given, the classes are the
    json's categories in id order (so any COCO-format file works, e.g. the
    bundled sample, COCO val2017 or LVIS).

    Args:
        *args: Positional arguments of :class:`~mmdet.datasets.CocoDataset`.
        **kwargs: Keyword arguments of :class:`~mmdet.datasets.CocoDataset`
            (``ann_file``, ``data_root``, ``data_prefix=dict(img=...)``,
            ``pipeline``, ``test_mode``, ``filter_cfg``, ...).
    """

    METAINFO = dict(classes=(), palette=None)

    def __init__(self, *args, **kwargs) -> None:
        self.skip_counts: dict = {}
        self.unreadable = UnreadableImageSkipper(
            f'CocoPromptDataset({kwargs.get("ann_file", "")})')
        scope = None if DefaultScope.get_current_instance() else 'esam3'
        with DefaultScope.overwrite_default_scope(scope):
            super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load the json; derive ``classes`` from it when not given.

        Returns:
            list[dict]: One ``data_info`` per image.
        """
        self._crowd = SkipCounter(f'CocoPromptDataset({self.ann_file})')
        if not self._metainfo.get('classes'):
            with open(self.ann_file) as f:
                cats = json.load(f).get('categories', [])
            cats = sorted(cats, key=lambda c: c['id'])
            self._metainfo['classes'] = tuple(c['name'] for c in cats)
        data_list = super().load_data_list()
        self.skip_counts = self._crowd.as_dict()
        self._crowd.log()
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Mmdet's parsing minus crowd instances and instances with an invalid
        RLE (counted as ``invalid_rle``, naming file, image and annotation id),
        plus category names.

        Args:
            raw_data_info (dict): ``raw_ann_info`` and ``raw_img_info``.

        Returns:
            dict: The image's ``data_info``.
        """
        img_info = raw_data_info['raw_img_info']
        if 'file_name' not in img_info and 'coco_url' in img_info:
            # LVIS v1 names images by URL: '.../val2017/000000397133.jpg'
            img_info['file_name'] = '/'.join(img_info['coco_url'].rsplit(
                '/', 2)[-2:])
        anns = []
        for ann in raw_data_info['raw_ann_info']:
            segm = ann.get('segmentation')
            if isinstance(segm, dict) and not ann.get('iscrowd', 0):
                try:
                    check_rle(segm)
                except InvalidRLEError as err:
                    self._crowd.add(
                        'invalid_rle',
                        example=(f'{self.ann_file} image id '
                                 f'{img_info.get("img_id")} '
                                 f'annotation id {ann.get("id")}: {err}'))
                    continue
            anns.append(ann)
        raw_data_info = dict(raw_data_info, raw_ann_info=anns)
        info = super().parse_data_info(raw_data_info)
        classes = self._metainfo['classes']
        kept = []
        for inst in info['instances']:
            if inst.get('ignore_flag', 0):
                self._crowd.add('crowd_instance')
                continue
            inst['name'] = classes[inst['bbox_label']]
            kept.append(inst)
        info['instances'] = kept
        return info

    def prepare_data(self, idx: int):
        """Run the pipeline; in training, None (logged, counted) for an image
        that does not decode; in test mode its error names it."""
        return self.unreadable.run(self.pipeline, self.get_data_info(idx),
                                   self.test_mode)
