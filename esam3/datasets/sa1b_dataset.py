# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SA-1B (Segment Anything 1B) image dataset: one JSON per image."""
import json
import os
import os.path as osp
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from esam3.registry import DATASETS
from .utils import (InvalidRLEError, SkipCounter, UnreadableImageSkipper,
                    check_rle)

IMG_SUFFIXES = ('.jpg', '.jpeg', '.png')


class SA1BAnnotationError(ValueError):
    """A SA-1B JSON file is malformed (names the file and the field)."""


def _field(obj: Any, key: str, where: str, path: str,
           types: Tuple[type, ...]) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise SA1BAnnotationError(f'{path}: missing field "{where}{key}"')
    value = obj[key]
    if not isinstance(value, types):
        names = '/'.join(t.__name__ for t in types)
        raise SA1BAnnotationError(
            f'{path}: field "{where}{key}" must be {names}, got '
            f'{type(value).__name__}')
    return value


def parse_sa1b_json(
        path: str,
        counter: Optional[SkipCounter] = None) -> Tuple[dict, List[dict]]:
    """Parse and validate one SA-1B per-image JSON.

    Instances whose RLE size differs from the image size, whose RLE
    ``counts`` do not cover exactly ``h * w`` pixels (garbage) or whose box
    has zero width/height are skipped (and counted in ``counter``).

    Args:
        path (str): The JSON file.
        counter (SkipCounter, optional): Receives ``rle_size_mismatch``,
            ``invalid_rle`` (example: file, annotation id and what is wrong)
            and ``zero_area_box`` counts.

    Returns:
        tuple[dict, list[dict]]: The ``image`` record and the valid instances
        in mmdet format (``bbox`` xyxy, ``bbox_label`` 0, ``mask`` RLE,
        ``ignore_flag`` 0, ``point_coords``, ``area``, ``predicted_iou``,
        ``stability_score``, ``ann_id``).

    Raises:
        SA1BAnnotationError: Invalid JSON or a missing / mistyped field.
    """
    counter = counter if counter is not None else SkipCounter('SA-1B')
    try:
        with open(path) as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SA1BAnnotationError(f'{path}: invalid JSON ({err})') from err
    num = (int, float)
    image = _field(data, 'image', '', path, (dict, ))
    h = _field(image, 'height', 'image.', path, (int, ))
    w = _field(image, 'width', 'image.', path, (int, ))
    anns = _field(data, 'annotations', '', path, (list, ))
    instances = []
    for k, ann in enumerate(anns):
        where = f'annotations[{k}].'
        segm = _field(ann, 'segmentation', where, path, (dict, ))
        size = _field(segm, 'size', where + 'segmentation.', path, (list, ))
        _field(segm, 'counts', where + 'segmentation.', path, (str, list))
        bbox = _field(ann, 'bbox', where, path, (list, ))
        if len(bbox) != 4 or not all(isinstance(v, num) for v in bbox):
            raise SA1BAnnotationError(
                f'{path}: field "{where}bbox" must be 4 numbers [x, y, w, h]')
        if [int(s) for s in size] != [h, w]:
            counter.add('rle_size_mismatch', example=path)
            continue
        try:
            check_rle(segm)
        except InvalidRLEError as err:
            counter.add(
                'invalid_rle',
                example=f'{path} annotation id '
                f'{ann.get("id", k)}: {err}')
            continue
        x, y, bw, bh = (float(v) for v in bbox)
        if bw <= 0 or bh <= 0:
            counter.add('zero_area_box', example=path)
            continue
        points = ann.get('point_coords') or []
        instances.append(
            dict(
                bbox=[x, y, x + bw, y + bh],
                bbox_label=0,
                ignore_flag=0,
                mask=dict(size=[h, w], counts=segm['counts']),
                point_coords=[[float(p[0]), float(p[1])] for p in points],
                area=float(ann.get('area', bw * bh)),
                predicted_iou=float(ann.get('predicted_iou', 1.0)),
                stability_score=float(ann.get('stability_score', 1.0)),
                ann_id=ann.get('id', k)))
    return image, instances


def read_image_size(path: str) -> Optional[Tuple[int, int]]:
    """``(h, w)`` of a fully decodable image, or None if it cannot be read.

    The pixels are decoded (``Image.load``), not only the header checked:
    ``Image.verify`` accepts a truncated JPEG, which would then fail in the
    training pipeline.
    """
    from PIL import Image
    try:
        with Image.open(path) as img:
            img.load()
            w, h = img.size
    except Exception:  # noqa: BLE001 (any decoder error means unreadable)
        return None
    return h, w


@DATASETS.register_module()
class SA1BDataset(BaseDataset):
    """SA-1B images with class-agnostic instance masks.

    Layout: ``<data_root>/<data_prefix['img']>/<stem>.jpg`` and
    ``<data_root>/<data_prefix['ann']>/<stem>.json`` (SA-1B per-image JSON).
    The image list is either every image in the image folder (sorted) or the
    stems / file names listed one per line in ``ann_file``.

    Invalid data is skipped and counted per reason, and the counts are logged
    once: ``missing_json``, ``unreadable_image`` (decoded in full when
    ``check_images``), ``image_size_mismatch``
    (image vs JSON size), ``no_instances`` (no valid instance left) per image,
    and ``rle_size_mismatch``, ``invalid_rle``, ``zero_area_box`` per
    instance. The counts are
    in :attr:`skip_counts`.

    With ``lazy_parse=True`` (for the real 11M-image SA-1B) only the
    image/JSON pairing is checked up front; each JSON is parsed when its
    sample is drawn, and an image left without instances (or with a
    malformed JSON, ``invalid_json``) makes :meth:`prepare_data` return None
    (mmengine then draws another one in training); these skips are added to
    :attr:`skip_counts` of the worker that met them and each reason is
    logged once.

    Args:
        data_root (str): Dataset root. Must exist.
        ann_file (str): Optional split list (relative to ``data_root``).
        data_prefix (dict): ``img`` and ``ann`` sub-folders. Defaults to the
            root for both.
        max_instances (int, optional): Keep at most this many instances per
            image: a random subset per draw in training, the first ones in
            test mode. None keeps all. Defaults to 16.
        lazy_parse (bool): Parse JSONs on access. Defaults to False.
        check_images (bool): Decode each image at load time (only when
            ``lazy_parse`` is False); a truncated or corrupt one is skipped
            as ``unreadable_image``. Defaults to True.
        **kwargs: Other :class:`~mmengine.dataset.BaseDataset` arguments
            (``pipeline``, ``test_mode``, ``lazy_init``, ...).
    """

    METAINFO = dict(classes=('object', ))

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: Optional[dict] = None,
                 max_instances: Optional[int] = 16,
                 lazy_parse: bool = False,
                 check_images: bool = True,
                 **kwargs) -> None:
        self.unreadable = UnreadableImageSkipper(f'SA1BDataset({data_root})')
        self.max_instances = max_instances
        self.lazy_parse = lazy_parse
        self.check_images = check_images
        self.skip_counts: dict = {}
        # given keys override the defaults (a config may name both)
        data_prefix = {**dict(img='', ann=''), **(data_prefix or {})}
        scope = None if DefaultScope.get_current_instance() else 'esam3'
        with DefaultScope.overwrite_default_scope(scope):
            super().__init__(
                data_root=data_root,
                ann_file=ann_file,
                data_prefix=data_prefix,
                **kwargs)

    # ------------------------------------------------------------ listing
    def _list_images(self, img_dir: str) -> List[str]:
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(
                    f'SA-1B split list not found: {self.ann_file}')
            with open(self.ann_file) as f:
                names = [ln.strip() for ln in f if ln.strip()]
            out = []
            for name in names:
                if osp.splitext(name)[1].lower() not in IMG_SUFFIXES:
                    name = name + '.jpg'
                out.append(name)
            return out
        return sorted(
            n for n in os.listdir(img_dir)
            if osp.splitext(n)[1].lower() in IMG_SUFFIXES)

    def load_data_list(self) -> List[dict]:
        """Pair images with JSONs, validate, count and log skips.

        Returns:
            list[dict]: One ``data_info`` per valid image.

        Raises:
            FileNotFoundError: ``data_root`` or the image folder is missing.
            ValueError: Nothing valid was found under ``data_root``.
        """
        root = self.data_root
        img_dir = self.data_prefix['img'] or root
        ann_dir = self.data_prefix['ann'] or root
        for folder in (root, img_dir, ann_dir):
            if not folder or not osp.isdir(folder):
                raise FileNotFoundError(
                    f'SA-1B folder not found: "{folder}" (data_root='
                    f'"{root}")')
        counter = SkipCounter(f'SA1BDataset({root})')
        data_list = []
        names = self._list_images(img_dir)
        for name in names:
            img_path = osp.join(img_dir, name)
            stem = osp.splitext(osp.basename(name))[0]
            ann_path = osp.join(ann_dir, osp.dirname(name), stem + '.json')
            if not osp.isfile(ann_path):
                counter.add('missing_json', example=ann_path)
                continue
            if not osp.isfile(img_path):
                counter.add('unreadable_image', example=img_path)
                continue
            info = dict(img_path=img_path, ann_path=ann_path, img_id=stem)
            if not self.lazy_parse:
                info = self._parse(info, counter, check_image=True)
                if info is None:
                    continue
            data_list.append(info)
        self.skip_counts = counter.as_dict()
        counter.log()
        if not data_list:
            raise ValueError(f'SA1BDataset: no valid image under "{root}" '
                             f'({len(names)} listed; skipped: '
                             f'{counter.summary() or "none"})')
        return data_list

    def _parse(self, info: dict, counter: SkipCounter,
               check_image: bool) -> Optional[dict]:
        image, instances = parse_sa1b_json(info['ann_path'], counter)
        h, w = int(image['height']), int(image['width'])
        if check_image and self.check_images:
            size = read_image_size(info['img_path'])
            if size is None:
                counter.add('unreadable_image', example=info['img_path'])
                return None
            if size != (h, w):
                counter.add('image_size_mismatch', example=info['img_path'])
                return None
        if not instances:
            counter.add('no_instances', example=info['ann_path'])
            return None
        img_id = image.get('image_id', info['img_id'])
        return dict(
            info, img_id=img_id, height=h, width=w, instances=instances)

    # ------------------------------------------------------------ access
    def _sample_instances(self, instances: Sequence[dict]) -> List[dict]:
        num = len(instances)
        if self.max_instances is None or num <= self.max_instances:
            return list(instances)
        if self.test_mode:
            return list(instances[:self.max_instances])
        keep = np.sort(
            np.random.choice(num, self.max_instances, replace=False))
        return [instances[int(i)] for i in keep]

    def get_data_info(self, idx: int) -> dict:
        """The ``data_info`` of ``idx`` with at most ``max_instances``.

        Args:
            idx (int): Sample index.

        Returns:
            dict: ``img_path``, ``img_id``, ``height``, ``width`` and
            ``instances`` (parsed now when ``lazy_parse`` is True).
        """
        info = super().get_data_info(idx)
        if self.lazy_parse and 'instances' not in info:
            parsed = self._parse_lazily(info)
            info = parsed if parsed is not None else dict(info, instances=[])
        info['instances'] = self._sample_instances(info['instances'])
        return info

    def _parse_lazily(self, info: dict) -> Optional[dict]:
        """Parse one JSON at access time; what is skipped is added to
        :attr:`skip_counts` and each reason is logged the first time it occurs
        (with the file, and annotation id for instances), with the running
        totals.

        A malformed JSON skips the image
        (``invalid_json``) instead of stopping the run; in test mode it
        raises.
        """
        counter = SkipCounter(f'SA1BDataset({self.data_root})')
        try:
            parsed = self._parse(info, counter, check_image=False)
        except (SA1BAnnotationError, OSError) as err:
            if self.test_mode:
                raise
            counter.add('invalid_json', example=str(err))
            parsed = None
        new = [r for r in counter.counts if r not in self.skip_counts]
        for reason, num in counter.counts.items():
            self.skip_counts[reason] = self.skip_counts.get(reason, 0) + num
        for reason in new:
            totals = ', '.join(f'{k}={v}'
                               for k, v in sorted(self.skip_counts.items()))
            print_log(
                f'{counter.name}: skipped {reason} (e.g. '
                f'{counter.examples.get(reason)}); logged once per '
                f'reason, counts so far: {totals}',
                logger='current',
                level=30)
        return parsed

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline; None for an image without instances, and in
        training for an image that does not decode (logged, counted in
        :attr:`unreadable`).

        Args:
            idx (int): Sample index.

        Returns:
            Any: The pipeline output, or None.
        """
        info = self.get_data_info(idx)
        if not info['instances']:
            return None
        return self.unreadable.run(self.pipeline, info, self.test_mode)
