# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""A small mmengine ``Visualizer`` for SAM3-style outputs.

Draws instance masks, boxes and prompt points of a data sample on an image:
ground truth (``gt_instances``) on the left panel, predictions
(``pred_instances`` or the contract's ``prompt_masks``) on the right.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import master_only
from mmengine.structures import BaseDataElement
from mmengine.visualization import Visualizer

from esam3.registry import VISUALIZERS

# A fixed, colour-blind friendly palette (RGB).
PALETTE: List[Tuple[int, int, int]] = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (220, 190, 255),
]


def _as_numpy(value) -> Optional[np.ndarray]:
    """Tensor / ndarray / mmdet mask or box structure -> ndarray (or None)."""
    if value is None:
        return None
    if hasattr(value, 'to_ndarray'):  # mmdet BitmapMasks / PolygonMasks
        value = value.to_ndarray()
    elif hasattr(value, 'tensor'):  # mmdet HorizontalBoxes
        value = value.tensor
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _fit_masks(masks: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
    """Resize ``[N, h, w]`` masks to ``hw`` with nearest sampling."""
    masks = masks.astype(bool)
    if masks.shape[-2:] == tuple(hw) or masks.shape[0] == 0:
        return masks if masks.shape[0] else np.zeros((0, *hw), bool)
    resized = F.interpolate(
        torch.from_numpy(masks).float()[None], size=hw, mode='nearest')[0]
    return resized.bool().numpy()


def _frames(meta: dict, hw: Tuple[int, int]):
    """Describe how the packed-input frame maps to the original image.

    Returns:
        ``(image_is_original, img_shape, (w_scale, h_scale))`` or None when
        the metainfo lacks the geometry (then nothing is converted).
    """
    ori = meta.get('ori_shape')
    img_shape = meta.get('img_shape')
    scale = meta.get('scale_factor')
    if ori is None or img_shape is None or scale is None:
        return None
    if np.isscalar(scale):
        scale = (float(scale), float(scale))
    return tuple(hw) == tuple(ori[:2]), tuple(img_shape[:2]), \
        (float(scale[0]), float(scale[1]))


def _convert(masks: Optional[np.ndarray], bboxes: Optional[np.ndarray], frames,
             to_original: bool, hw: Tuple[int, int]):
    """Move masks / boxes between the packed-input and original frames.

    GT lives in the packed-input frame (resized, padded bottom/right), the
    predictions of the esam3 contract in the original frame.
    """
    if frames is None:
        return masks, bboxes
    (img_h, img_w), (sw, sh) = frames[1], frames[2]
    if to_original:
        if masks is not None and masks.ndim == 3 and len(masks):
            masks = _fit_masks(masks[:, :img_h, :img_w], hw)
        if bboxes is not None and len(bboxes):
            bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4) / \
                np.array([sw, sh, sw, sh], np.float32)
    else:
        if masks is not None and masks.ndim == 3 and len(masks):
            small = _fit_masks(masks, (img_h, img_w))
            masks = np.zeros((len(small), *hw), bool)
            h, w = min(img_h, hw[0]), min(img_w, hw[1])
            masks[:, :h, :w] = small[:, :h, :w]
        if bboxes is not None and len(bboxes):
            bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4) * \
                np.array([sw, sh, sw, sh], np.float32)
    return masks, bboxes


@VISUALIZERS.register_module()
class Sam3Visualizer(Visualizer):
    """Mmengine visualizer that overlays masks, boxes and points.

    Args:
        name: instance name (mmengine ``ManagerMixin``).
        image: optional initial RGB image ``[H, W, 3]`` uint8.
        vis_backends: visualisation backend configs.
        save_dir: directory for the backends.
        alpha: mask opacity.
        line_width: box line width.
        point_size: marker size of prompt points.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[Sequence[dict]] = None,
                 save_dir: Optional[str] = None,
                 alpha: float = 0.5,
                 line_width: float = 2,
                 point_size: float = 60) -> None:
        super().__init__(
            name=name,
            image=image,
            vis_backends=vis_backends,
            save_dir=save_dir)
        self.alpha = alpha
        self.line_width = line_width
        self.point_size = point_size

    def draw_instances(self,
                       image: np.ndarray,
                       masks: Optional[np.ndarray] = None,
                       bboxes: Optional[np.ndarray] = None,
                       scores: Optional[np.ndarray] = None,
                       points: Optional[np.ndarray] = None,
                       point_labels: Optional[np.ndarray] = None,
                       score_thr: float = 0.0) -> np.ndarray:
        """Draw one panel.

        Args:
            image: RGB uint8 ``[H, W, 3]``.
            masks: bool ``[N, h, w]`` (resized to the image if needed).
            bboxes: ``[N, 4]`` xyxy in image pixels.
            scores: ``[N]``; instances below ``score_thr`` are skipped.
            points: ``[P, 2]`` xy prompt points.
            point_labels: ``[P]`` 1 positive (green) / 0 negative (red).
            score_thr: score threshold.

        Returns:
            The drawn RGB image.
        """
        self.set_image(image)
        hw = image.shape[:2]
        keep = None
        if scores is not None:
            keep = np.asarray(scores).reshape(-1) >= score_thr
        if masks is not None and len(masks):
            masks = _fit_masks(masks, hw)
            if keep is not None and len(keep) == len(masks):
                masks = masks[keep]
            if len(masks):
                colors = [PALETTE[i % len(PALETTE)] for i in range(len(masks))]
                self.draw_binary_masks(masks, colors=colors, alphas=self.alpha)
        if bboxes is not None and len(bboxes):
            bboxes = np.asarray(bboxes, dtype=np.float32).reshape(-1, 4)
            shown_scores = scores
            if keep is not None and len(keep) == len(bboxes):
                bboxes = bboxes[keep]
                shown_scores = np.asarray(scores).reshape(-1)[keep]
            if len(bboxes):
                colors = [
                    PALETTE[i % len(PALETTE)] for i in range(len(bboxes))
                ]
                self.draw_bboxes(
                    bboxes, edge_colors=colors, line_widths=self.line_width)
                if shown_scores is not None:
                    self.draw_texts([f'{float(s):.2f}' for s in shown_scores],
                                    bboxes[:, :2],
                                    colors='w',
                                    font_sizes=10)
        if points is not None and len(points):
            points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
            labels = (
                np.ones(len(points), int) if point_labels is None else
                np.asarray(point_labels).reshape(-1))
            colors = [(0, 255, 0) if lab > 0 else (255, 0, 0)
                      for lab in labels]
            self.draw_points(
                points,
                colors=colors,
                marker='*',
                sizes=np.full(len(points), self.point_size))
        return self.get_image()

    @staticmethod
    def _points_of(sample: BaseDataElement):
        points = sample.get('prompt_points',
                            sample.metainfo.get('prompt_points'))
        labels = sample.get('prompt_point_labels',
                            sample.metainfo.get('prompt_point_labels'))
        return _as_numpy(points), _as_numpy(labels)

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[BaseDataElement] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       pred_score_thr: float = 0.3,
                       step: int = 0) -> np.ndarray:
        """Draw GT and prediction panels side by side and store them.

        Ground truth comes from ``data_sample.gt_instances`` (``masks``,
        ``bboxes``); predictions from ``data_sample.pred_instances``
        (``masks``, ``bboxes``, ``scores``) or, for prompt evaluation, from
        ``data_sample.prompt_masks`` (first mode). Prompt points are read
        from ``prompt_points`` / ``prompt_point_labels`` (field or metainfo,
        packed-input pixels like the GT). With ``ori_shape``, ``img_shape``
        and ``scale_factor`` in the metainfo, GT (packed-input frame) and
        predictions (original frame, per the esam3 contract) are mapped onto
        whichever frame ``image`` is in.

        Args:
            name: image identifier for the backends.
            image: RGB uint8 ``[H, W, 3]``.
            data_sample: sample with annotations and/or predictions.
            draw_gt: draw the ground-truth panel.
            draw_pred: draw the prediction panel.
            show: open a window.
            wait_time: seconds to wait when showing.
            out_file: write the drawing there (BGR, via mmcv) instead of
                the visualisation backends.
            pred_score_thr: score threshold for predicted instances.
            step: global step for the backends.

        Returns:
            The drawn RGB image.
        """
        image = np.ascontiguousarray(image.clip(0, 255).astype(np.uint8))
        panels = []
        points, point_labels = (None, None)
        if data_sample is not None:
            points, point_labels = self._points_of(data_sample)
        hw = image.shape[:2]
        frames = _frames(data_sample.metainfo, hw) \
            if data_sample is not None else None
        image_is_original = frames is not None and frames[0]
        if image_is_original and points is not None and len(points):
            # prompt points are packed-input pixels, like the GT boxes
            points = _convert(
                None,
                np.tile(np.asarray(points, np.float32).reshape(-1, 2), (1, 2)),
                frames, True, hw)[1][:, :2]
        if data_sample is not None and draw_gt and 'gt_instances' in \
                data_sample:
            gt = data_sample.gt_instances
            masks, bboxes = _as_numpy(gt.get('masks')), \
                _as_numpy(gt.get('bboxes'))
            if image_is_original:  # GT is in the packed-input frame
                masks, bboxes = _convert(masks, bboxes, frames, True, hw)
            panels.append(
                self.draw_instances(
                    image,
                    masks=masks,
                    bboxes=bboxes,
                    points=points,
                    point_labels=point_labels))
        if data_sample is not None and draw_pred:
            masks = bboxes = scores = None
            if 'pred_instances' in data_sample:
                pred = data_sample.pred_instances
                masks = _as_numpy(pred.get('masks'))
                bboxes = _as_numpy(pred.get('bboxes'))
                scores = _as_numpy(pred.get('scores'))
            elif 'prompt_masks' in data_sample and data_sample.prompt_masks:
                first = next(iter(data_sample.prompt_masks.values()))
                masks = _as_numpy(first)
            if frames is not None and not image_is_original:
                # predictions are in the original frame, the image is not
                masks, bboxes = _convert(masks, bboxes, frames, False, hw)
            if masks is not None or bboxes is not None:
                panels.append(
                    self.draw_instances(
                        image,
                        masks=masks,
                        bboxes=bboxes,
                        scores=scores,
                        points=points,
                        point_labels=point_labels,
                        score_thr=pred_score_thr))
        drawn = np.concatenate(panels, axis=1) if panels else image
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            import mmcv
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn
