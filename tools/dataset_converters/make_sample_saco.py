# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Build the bundled real SA-Co-format sample (image / noun-phrase pairs).

Four public-domain / CC0 photos bundled with scikit-image (chelsea, coffee,
astronaut, coins) are downscaled to a long side of 320 px and segmented with
classical methods (no learned model):

* GrabCut (OpenCV, fixed RNG seed) inside a hand-placed rectangle for
  ``cat``, ``eye`` (x2), ``spoon``, ``person``, ``flag`` and ``helmet``;
* background-flattened Otsu threshold + hole filling + connected components
  for the 24 ``coin`` instances.

The annotation file follows the SA-Co/Gold layout: ``images`` holds one entry
per image-phrase pair with ``text_input``; ``annotations`` holds the instance
masks (COCO RLE) of positive pairs, with ``bbox`` [x, y, w, h] and ``area``
normalised by the image size as in SA-Co/Gold; pairs without annotations are
negatives (phrases of things absent from the photo). ``confusables.json``
maps phrases to confusable phrases for hard-negative sampling.

Usage::

    python tools/dataset_converters/make_sample_saco.py --out-dir data/samples
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from scipy import ndimage as ndi

from esam3.datasets.utils import encode_mask

MAX_SIDE = 320
# image -> [(phrase, [GrabCut rectangles x0, y0, x1, y1] or 'coins')]; the
# rectangles are in the 320-px image. Negative phrases have no rectangles.
PAIRS: Dict[str, List[Tuple[str, object]]] = {
    'chelsea': [('cat', [(0, 0, 262, 213)]),
                ('eye', [(96, 56, 150, 104), (203, 74, 246, 120)]),
                ('dog', [])],
    'coffee': [('spoon', [(164, 118, 218, 176)]), ('fork', [])],
    'astronaut': [('person', [(12, 8, 238, 320)]), ('flag', [(0, 0, 64, 215)]),
                  ('helmet', [(178, 212, 305, 320)]), ('car', [])],
    'coins': [('coin', 'coins'), ('banknote', [])],
}
CONFUSABLES = {
    'cat': ['dog', 'tiger'],
    'eye': ['nose', 'ear'],
    'spoon': ['fork', 'knife'],
    'person': ['statue', 'mannequin'],
    'flag': ['banner', 'towel'],
    'helmet': ['ball', 'hat'],
    'coin': ['button', 'banknote'],
}


def load_image(name: str) -> np.ndarray:
    """A scikit-image photo as BGR uint8, long side :data:`MAX_SIDE`."""
    import skimage.data
    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    h, w = img.shape[:2]
    s = MAX_SIDE / max(h, w)
    img = cv2.resize(
        img, (int(round(w * s)), int(round(h * s))),
        interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img[..., ::-1])


def largest_component(mask: np.ndarray) -> np.ndarray:
    labels, num = ndi.label(mask)
    if num == 0:
        return mask
    sizes = ndi.sum(mask, labels, range(1, num + 1))
    return labels == int(np.argmax(sizes)) + 1


def grabcut(bgr: np.ndarray,
            rect: Sequence[int],
            iters: int = 5) -> np.ndarray:
    """Foreground of a GrabCut initialised with a rectangle."""
    cv2.setRNGSeed(0)
    x0, y0, x1, y1 = rect
    state = np.zeros(bgr.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(bgr, state, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, iters,
                cv2.GC_INIT_WITH_RECT)
    fg = (state == cv2.GC_FGD) | (state == cv2.GC_PR_FGD)
    return ndi.binary_fill_holes(largest_component(fg))


def segment_coins(bgr: np.ndarray, min_area: int = 300) -> List[np.ndarray]:
    """Coins: Otsu on the background-flattened grey image, one per blob."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    flat = grey - cv2.GaussianBlur(grey, (0, 0), 30) + 128
    flat = np.clip(flat, 0, 255).astype(np.uint8)
    _, th = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    fg = ndi.binary_fill_holes(ndi.binary_opening(th > 0, iterations=2))
    labels, num = ndi.label(fg)
    masks = [labels == i for i in range(1, num + 1)]
    masks = [m for m in masks if m.sum() >= min_area]
    # reading order (rows of coins, then left to right)
    cents = [ndi.center_of_mass(m) for m in masks]
    order = sorted(
        range(len(masks)),
        key=lambda i: (round(cents[i][0] / 50), cents[i][1]))
    return [masks[i] for i in order]


def build(out_dir: str) -> dict:
    """Write the images and return the SA-Co-style annotation dict."""
    img_dir = osp.join(out_dir, 'images')
    os.makedirs(img_dir, exist_ok=True)
    images, annotations = [], []
    pair_id, ann_id = 1, 1
    for name, pairs in PAIRS.items():
        bgr = load_image(name)
        h, w = bgr.shape[:2]
        file_name = f'images/{name}.jpg'
        cv2.imwrite(
            osp.join(out_dir, file_name), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        for phrase, spec in pairs:
            images.append(
                dict(
                    id=pair_id,
                    file_name=file_name,
                    text_input=phrase,
                    width=w,
                    height=h,
                    queried_category=phrase,
                    is_instance_exhaustive=1,
                    is_pixel_exhaustive=1))
            masks = segment_coins(bgr) if spec == 'coins' else [
                grabcut(bgr, r) for r in spec
            ]
            for m in masks:
                rle = encode_mask(m)
                x, y, bw, bh = mask_utils.toBbox(rle).tolist()
                annotations.append(
                    dict(
                        id=ann_id,
                        image_id=pair_id,
                        source='classical_segmentation',
                        area=float(m.sum()) / (h * w),
                        bbox=[x / w, y / h, bw / w, bh / h],
                        segmentation=rle,
                        category_id=1,
                        iscrowd=0))
                ann_id += 1
            pair_id += 1
    return dict(
        info=dict(description='esam3 bundled SA-Co-format sample: '
                  'scikit-image photos, classical segmentation masks '
                  '(tools/dataset_converters/make_sample_saco.py)'),
        images=images,
        annotations=annotations,
        categories=[dict(id=1, name='object')])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out-dir', default='data/samples')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cv2.setNumThreads(1)
    out = osp.join(args.out_dir, 'saco')
    data = build(out)
    with open(osp.join(out, 'annotations.json'), 'w') as f:
        json.dump(data, f)
    with open(osp.join(out, 'confusables.json'), 'w') as f:
        json.dump(CONFUSABLES, f, indent=1)
    counts = {}
    for a in data['annotations']:
        counts[a['image_id']] = counts.get(a['image_id'], 0) + 1
    print('\n'.join(f"{im['file_name']:>22} '{im['text_input']}': "
                    f"{counts.get(im['id'], 0)} instance(s)"
                    for im in data['images']))


if __name__ == '__main__':
    main()
