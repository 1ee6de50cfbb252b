# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Prompt parsing and overlay drawing shared by the image / video demos."""
from typing import List, Optional, Sequence, Tuple

import numpy as np


def parse_point(text: str) -> Tuple[float, float, int]:
    """``'x,y'`` or ``'x,y:label'`` (label 1 foreground, 0 background).

    Raises:
        ValueError: naming the malformed argument.
    """
    coords, _, label = text.partition(':')
    try:
        x, y = (float(v) for v in coords.split(','))
        lab = int(label) if label else 1
    except ValueError as err:
        raise ValueError(
            f'bad point {text!r}: expected x,y or x,y:label') from err
    if lab not in (0, 1):
        raise ValueError(f'bad point {text!r}: label must be 0 or 1')
    return x, y, lab


def parse_box(text: str) -> List[float]:
    """``'x1,y1,x2,y2'`` -> list of 4 floats.

    Raises:
        ValueError: naming the malformed argument.
    """
    try:
        box = [float(v) for v in text.split(',')]
    except ValueError as err:
        raise ValueError(f'bad box {text!r}: expected x1,y1,x2,y2') from err
    if len(box) != 4:
        raise ValueError(f'bad box {text!r}: expected x1,y1,x2,y2')
    return box


def get_visualizer(name: str = 'esam3_demo'):
    """The esam3 visualizer (``Sam3Visualizer``, an mmengine ``Visualizer``) as
    a named mmengine instance."""
    from esam3.visualization import Sam3Visualizer
    if Sam3Visualizer.check_instance_created(name):
        return Sam3Visualizer.get_instance(name)
    return Sam3Visualizer.get_instance(
        name, alpha=0.5, line_width=2, point_size=120)


def draw_overlay(image_rgb: np.ndarray,
                 masks: Optional[np.ndarray] = None,
                 boxes: Optional[np.ndarray] = None,
                 scores: Optional[np.ndarray] = None,
                 points: Optional[np.ndarray] = None,
                 point_labels: Optional[np.ndarray] = None,
                 caption: Optional[str] = None,
                 visualizer=None) -> np.ndarray:
    """Masks, boxes, prompt points and a caption over an RGB image.

    Args:
        image_rgb: ``[H, W, 3]`` uint8.
        masks: bool ``[N, H, W]``.
        boxes: ``[N, 4]`` xyxy (prompt or predicted boxes, same colours as
            the masks).
        scores: ``[N]`` shown next to the boxes.
        points: ``[P, 2]`` clicks; ``point_labels`` 1 (green) / 0 (red).
        caption: text written in the top-left corner.
        visualizer: an mmengine visualizer (default
            :func:`get_visualizer`).

    Returns:
        The drawn RGB image.
    """
    vis = visualizer or get_visualizer()
    drawn = vis.draw_instances(
        np.ascontiguousarray(image_rgb),
        masks=masks,
        bboxes=boxes,
        scores=scores,
        points=points,
        point_labels=point_labels)
    if caption:
        vis.set_image(drawn)
        size = max(8, min(drawn.shape[:2]) // 30)
        vis.draw_texts(
            caption,
            np.array([4, 4]),
            font_sizes=size,
            colors='w',
            bboxes=dict(facecolor='black', alpha=0.6, pad=2, edgecolor='none'))
        drawn = vis.get_image()
    return drawn


def best_masks(result: dict) -> Tuple[np.ndarray, np.ndarray]:
    """Highest-scoring candidate per object of an ``ImagePredictor``
    result: ``(masks [N, H, W], scores [N])``."""
    best = result['scores'].argmax(1)
    idx = np.arange(len(best))
    return result['masks'][idx, best], result['scores'][idx, best]


__all__: Sequence[str] = [
    'best_masks', 'draw_overlay', 'get_visualizer', 'parse_box', 'parse_point'
]
