# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Draw a packed dataset sample (what a pipeline feeds the model).

Used by ``tools/analysis_tools/browse_dataset.py``. Handles the three
packed formats of esam3 pipelines:

* images (``mmdet.PackDetInputs`` / ``PackConceptInputs``): ``inputs``
  ``[3, H, W]`` BGR uint8 and a ``DetDataSample``;
* video clips (``PackVideoInputs``): ``inputs`` ``[T, 3, H, W]`` and a
  ``TrackDataSample`` of per-frame samples, tiled into a grid.

Drawn in the packed-input frame: GT masks and boxes (one colour per
instance, the same across the frames of a clip), the mask-centre point of
every instance (the point prompt of the EdgeSAM protocol, a star),
exemplar boxes (white) and a caption with the id, the noun phrase and
whether the sample is a (hard) negative.
"""
from typing import List

import numpy as np

from esam3.apis.demo_drawing import draw_overlay, get_visualizer
from esam3.datasets.utils import mask_interior_point
from .sam3_visualizer import _as_numpy


def _rgb(inputs) -> np.ndarray:
    """``[3, H, W]`` BGR tensor -> ``[H, W, 3]`` RGB uint8."""
    img = _as_numpy(inputs)
    if img.ndim != 3 or img.shape[0] not in (1, 3):
        raise ValueError(f'expected packed inputs [3, H, W], got {img.shape}')
    img = np.repeat(img, 3, 0) if img.shape[0] == 1 else img[::-1]
    return np.ascontiguousarray(
        img.transpose(1, 2, 0).clip(0, 255).astype(np.uint8))


def caption_of(meta: dict, extra: str = '') -> str:
    """``id | "phrase" | negative`` from a sample's metainfo."""
    parts = [str(meta.get('video_id', meta.get('img_id', '?')))]
    if 'frame_id' in meta:
        parts[0] += f' #{meta["frame_id"]}'
    if meta.get('text'):
        parts.append(f'"{meta["text"]}"')
    if meta.get('hard_negative'):
        parts.append('hard negative')
    elif meta.get('is_negative'):
        parts.append('negative')
    if extra:
        parts.append(extra)
    return ' | '.join(parts)


def draw_image_sample(inputs, data_sample, visualizer=None) -> np.ndarray:
    """One packed image sample drawn on its input image (RGB)."""
    vis = visualizer or get_visualizer('esam3_browse')
    image = _rgb(inputs)
    meta = data_sample.metainfo
    gt = data_sample.get('gt_instances', None)
    masks = boxes = None
    points: List[List[float]] = []
    if gt is not None:
        masks = _as_numpy(gt.get('masks', None))
        boxes = _as_numpy(gt.get('bboxes', None))
        if masks is not None:
            masks = masks.astype(bool)
            points = [mask_interior_point(m) for m in masks if m.any()]
    n = 0 if masks is None else len(masks)
    drawn = draw_overlay(
        image,
        masks=masks,
        boxes=boxes,
        points=np.asarray(points, np.float32).reshape(-1, 2),
        caption=caption_of(meta, f'{n} instance(s)'),
        visualizer=vis)
    exemplars = _as_numpy(meta.get('exemplar_boxes', None))
    if exemplars is not None and exemplars.size:
        vis.set_image(drawn)
        vis.draw_bboxes(
            exemplars.reshape(-1, 4),
            edge_colors='w',
            line_styles='--',
            line_widths=2)
        drawn = vis.get_image()
    return drawn


def draw_video_sample(inputs,
                      data_sample,
                      visualizer=None,
                      columns: int = 4) -> np.ndarray:
    """A packed clip: each frame drawn, tiled ``columns`` per row (RGB)."""
    frames = _as_numpy(inputs)
    samples = data_sample.video_data_samples
    if len(frames) != len(samples):
        raise ValueError(f'{len(frames)} frames but {len(samples)} frame '
                         'samples')
    tiles = [
        draw_image_sample(f, s, visualizer) for f, s in zip(frames, samples)
    ]
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    cols = min(columns, len(tiles))
    grid = np.zeros((rows * h, cols * w, 3), np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = tile[:h, :w]
    return grid


def draw_packed_sample(sample: dict, visualizer=None) -> np.ndarray:
    """Draw ``dataset[i]`` (a dict with ``inputs`` and ``data_samples``).

    Raises:
        KeyError / ValueError: not a packed esam3 sample (names what is
            missing).
    """
    for key in ('inputs', 'data_samples'):
        if key not in sample:
            raise KeyError(f'sample has no "{key}" (keys: {sorted(sample)})'
                           ': is the pipeline packed?')
    data_sample = sample['data_samples']
    if hasattr(data_sample, 'video_data_samples'):
        return draw_video_sample(sample['inputs'], data_sample, visualizer)
    return draw_image_sample(sample['inputs'], data_sample, visualizer)


def sample_name(sample: dict) -> str:
    """A file-name-safe id of a packed sample."""
    meta = sample['data_samples'].metainfo
    name = str(meta.get('video_id', meta.get('img_id', 'sample')))
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in name)


__all__ = [
    'caption_of', 'draw_image_sample', 'draw_packed_sample',
    'draw_video_sample', 'sample_name'
]
