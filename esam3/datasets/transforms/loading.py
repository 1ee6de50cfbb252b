# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Load COCO-RLE instance annotations (SA-1B, COCO, LVIS) for esam3."""
from typing import List, Optional

import numpy as np
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.structures.mask import BitmapMasks

from esam3.registry import TRANSFORMS
from ..utils import UnreadableImageError, decode_rles, to_compressed_rle
from .instance_utils import EXTRA_IDS_KEY


@TRANSFORMS.register_module(name='LoadImageFromFile')
class LoadImageFromFile(MMCVLoadImageFromFile):
    """Mmcv's ``LoadImageFromFile`` whose decode failure is typed.

    Registered in the esam3 scope under mmcv's name, so every esam3 config
    gets it: a file that exists but does not decode (truncated or corrupt
    JPEG: cv2 returns None, mmcv only asserts) raises
    :class:`~esam3.datasets.utils.UnreadableImageError` naming the file,
    which the esam3 image datasets turn into a counted skip in training.
    A missing file still raises ``FileNotFoundError``.
    """

    def transform(self, results: dict) -> Optional[dict]:
        try:
            out = super().transform(results)
        except (AssertionError, OSError, ValueError) as err:
            if isinstance(err, FileNotFoundError):
                raise
            import errno
            raise UnreadableImageError(
                errno.EIO, f'cannot decode image ({type(err).__name__}: '
                f'{str(err)[:120]})', results.get('img_path')) from err
        return out


@TRANSFORMS.register_module()
class LoadRLEAnnotations(LoadAnnotations):
    """Decode ``results['instances']`` into mmdet ground truth + esam3 extras.

    Extends mmdet's :class:`~mmdet.datasets.transforms.LoadAnnotations` (boxes
    as ``HorizontalBoxes`` from the instances' xyxy ``bbox``, labels from
    ``bbox_label``). Masks may be compressed RLE (``str``/``bytes`` counts),
    uncompressed RLE or polygons; all are converted to compressed RLE at the
    image's original size and decoded with pycocotools into
    :class:`~mmdet.structures.mask.BitmapMasks`.

    Ignored instances (``ignore_flag=1``, e.g. COCO crowd) are not loaded, so
    every loaded instance ends up in ``gt_instances``.

    Added keys (all at ORIGINAL resolution, one entry per instance, kept in
    sync by :class:`SampleInstances` / :class:`FilterEmptyInstances`):

    - ``gt_rles``: list of ``{'size': [h, w], 'counts': str}``.
    - ``gt_point_coords``: float32 ``[N, 2]`` (x, y) interior points, only if
      every instance has ``point_coords`` (SA-1B).
    - ``gt_names``: list of category names, only if every instance has
      ``name`` (COCO-style datasets).
    - ``gt_instances_ids``: int64 ``[N]`` instance numbers (filtered by mmdet's
      ``RandomCrop``), with ``extra_instance_ids`` recording the alignment.

    Required keys: ``instances``, ``ori_shape`` (from ``LoadImageFromFile``),
    ``img_path`` (for error messages).

    Args:
        with_bbox (bool): Load boxes. Defaults to True.
        with_label (bool): Load labels. Defaults to True.
        with_mask (bool): Decode masks into ``gt_masks``. Defaults to True.
        with_rles (bool): Keep ``gt_rles``. Defaults to True.
        with_points (bool): Keep ``gt_point_coords``. Defaults to True.
        with_names (bool): Keep ``gt_names``. Defaults to True.
        box_type (str): mmdet box type. Defaults to ``'hbox'``.
        **kwargs: Other arguments of mmdet ``LoadAnnotations``.
    """

    def __init__(self,
                 with_bbox: bool = True,
                 with_label: bool = True,
                 with_mask: bool = True,
                 with_rles: bool = True,
                 with_points: bool = True,
                 with_names: bool = True,
                 box_type: str = 'hbox',
                 **kwargs) -> None:
        super().__init__(
            with_bbox=with_bbox,
            with_label=with_label,
            with_mask=with_mask,
            poly2mask=True,
            box_type=box_type,
            **kwargs)
        self.with_rles = with_rles
        self.with_points = with_points
        self.with_names = with_names

    def _load_masks(self, results: dict) -> None:
        """Decode the (already compressed) instance RLEs into BitmapMasks."""
        h, w = results['ori_shape'][:2]
        rles = [inst['mask'] for inst in results['instances']]
        masks = decode_rles(rles, h, w)
        results['gt_masks'] = BitmapMasks(masks, h, w)

    @staticmethod
    def _points(instances: List[dict]) -> Optional[np.ndarray]:
        if not instances or any(not inst.get('point_coords')
                                for inst in instances):
            return None
        pts = [
            np.asarray(inst['point_coords'], np.float32).reshape(-1, 2)[0]
            for inst in instances
        ]
        return np.stack(pts).astype(np.float32)

    def transform(self, results: dict) -> dict:
        """Load the annotations of one image.

        Args:
            results (dict): Result dict from the dataset (after
                ``LoadImageFromFile``).

        Returns:
            dict: ``results`` with ``gt_bboxes``, ``gt_bboxes_labels``,
            ``gt_ignore_flags``, ``gt_masks`` and the esam3 extras.
        """
        h, w = results['ori_shape'][:2]
        instances = []
        for inst in results.get('instances', []):
            if inst.get('ignore_flag', 0):
                continue
            inst = dict(inst)
            if self.with_mask or self.with_rles:
                if inst.get('mask') is None:
                    raise KeyError(f'{results.get("img_path")}: an instance '
                                   'has no "mask" (segmentation)')
                inst['mask'] = to_compressed_rle(inst['mask'], h, w)
                if list(inst['mask']['size']) != [h, w]:
                    raise ValueError(
                        f'{results.get("img_path")}: RLE size '
                        f'{list(inst["mask"]["size"])} differs from the image '
                        f'size {[h, w]}')
            instances.append(inst)
        results['instances'] = instances
        super().transform(results)
        num = len(instances)
        results['gt_instances_ids'] = np.arange(num, dtype=np.int64)
        results[EXTRA_IDS_KEY] = np.arange(num, dtype=np.int64)
        if self.with_rles:
            results['gt_rles'] = [inst['mask'] for inst in instances]
        points = self._points(instances)
        if self.with_points and points is not None:
            results['gt_point_coords'] = points
        if self.with_names and instances and all('name' in inst
                                                 for inst in instances):
            results['gt_names'] = [inst['name'] for inst in instances]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(with_bbox={self.with_bbox}, '
                f'with_label={self.with_label}, with_mask={self.with_mask}, '
                f'with_rles={self.with_rles}, '
                f'with_points={self.with_points}, '
                f'with_names={self.with_names}, box_type={self.box_type})')


TRANSFORMS.register_module(
    name='LoadSA1BAnnotations', module=LoadRLEAnnotations)
