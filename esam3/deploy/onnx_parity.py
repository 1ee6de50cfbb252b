# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Onnxruntime vs PyTorch parity of exported esam3 graphs on real images."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from torch import nn

from .image_encoder_onnx import ImageEncoderOnnx
from .onnx_export import (DECODER_FILES, DECODER_INPUTS, ENCODER_FILE,
                          load_manifest, manifest_resize_mode)
from .ort_session import create_session
from .perceiver_onnx import PerceiverOnnx
from .prompt_decoder_onnx import PromptDecoderOnnx

DEFAULT_TOL = 1e-3


def image_prompts(image_path: str, meta: dict, max_boxes: int = 3):
    """Box prompts (as corner points, input pixels) for an image: the SA-1B
    annotation boxes next to it when there are some, else the central half of
    the image; plus the centre click of each box.

    Returns:
        ``(points [P, 2, 2], labels [P, 2])`` float32 / int64.
    """
    h, w = meta['ori_shape'][:2]
    boxes = []
    ann = osp.splitext(image_path)[0] + '.json'
    if osp.isfile(ann):
        with open(ann) as f:
            for a in json.load(f).get('annotations', [])[:max_boxes]:
                x, y, bw, bh = a['bbox']
                if bw > 1 and bh > 1:
                    boxes.append([x, y, x + bw, y + bh])
    if not boxes:
        boxes = [[w / 4, h / 4, 3 * w / 4, 3 * h / 4]]
    sx, sy = meta['scale_factor'][:2]
    xyxy = np.asarray(boxes, np.float32) * np.array([sx, sy, sx, sy],
                                                    np.float32)
    points = xyxy.reshape(-1, 2, 2)
    labels = np.tile(np.array([[2, 3]], np.int64), (len(points), 1))
    return points, labels


def _max_diff(a, b) -> float:
    return float(
        np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def _row(image: str, graph: str, ort_out, ref_out, num_main: int,
         tol: float) -> Dict:
    """One parity row: the first ``num_main`` outputs are the features /
    mask logits, the rest scores; all must be within ``tol``."""
    main = max(
        _max_diff(a, b)
        for a, b in zip(ort_out[:num_main], ref_out[:num_main]))
    rest = [
        _max_diff(a, b) for a, b in zip(ort_out[num_main:], ref_out[num_main:])
    ]
    scale = max(float(np.abs(np.asarray(b)).max()) for b in ref_out[:num_main])
    other = max(rest) if rest else 0.0
    return dict(
        image=image,
        graph=graph,
        max_abs_diff=main,
        max_abs_ref=scale,
        rel_diff=main / max(scale, 1e-12),
        score_diff=other,
        ok=bool(max(main, other) <= tol))


@torch.no_grad()
def check_image_parity(
        model: nn.Module,
        onnx_dir: str,
        image_paths: Sequence[str],
        tol: float = DEFAULT_TOL,
        providers: Optional[Sequence[str]] = None) -> List[Dict]:
    """Compare onnxruntime with PyTorch on real images.

    Per image: the three encoder outputs (max abs difference), then every
    exported prompt decoder on box prompts, the box centres as clicks and
    a mask-prompt refinement, ORT fed with ORT embeddings and PyTorch with
    PyTorch embeddings (end to end).

    Args:
        model: the exported PyTorch model.
        onnx_dir: export folder (with its manifest).
        image_paths: images to test on.
        tol: pass threshold on the max abs difference.
        providers: onnxruntime providers.

    Returns:
        list[dict]: one row per (image, graph) with ``image``, ``graph``,
        ``max_abs_diff`` (features / mask logits), ``max_abs_ref`` (their
        largest PyTorch magnitude), ``rel_diff`` (the ratio),
        ``score_diff`` (IoU / object scores) and ``ok``.
    """
    from esam3.models.data_preprocessors import preprocess_image
    info = load_manifest(onnx_dir)
    size = int(info['img_size'])
    model = model.eval()
    encoder = ImageEncoderOnnx(model).eval()
    enc_sess = create_session(osp.join(onnx_dir, ENCODER_FILE), providers)
    tracker = getattr(getattr(model, 'heads', None), 'tracker', None)
    decoders = {}
    if 'prompt_decoder' in info['files'] and tracker is not None:
        for multi, name in DECODER_FILES.items():
            decoders[multi] = (PromptDecoderOnnx(tracker, multi).eval(),
                               create_session(
                                   osp.join(onnx_dir, name), providers))
    rows = []

    def add(image, graph, ort_out, ref_out, num_main):
        rows.append(
            _row(osp.basename(image), graph, ort_out, ref_out, num_main, tol))

    for path in image_paths:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f'cannot read image {path}')
        pixels, meta = preprocess_image(
            img,
            size,
            info['mean'],
            info['std'],
            resize_mode=manifest_resize_mode(info))
        ref_emb = [e.numpy() for e in encoder(pixels)]
        ort_emb = enc_sess.run(None, {'pixel_values': pixels.numpy()})
        add(path, 'image_encoder', ort_emb, ref_emb, 3)
        if not decoders:
            continue
        box_pts, box_lbl = image_prompts(path, meta)
        click = box_pts.mean(1, keepdims=True)
        prompt_sets = [('boxes', box_pts, box_lbl),
                       ('clicks', click, np.ones(click.shape[:2], np.int64))]
        mh, mw = info['mask_input_size']
        for multi, (module, sess) in decoders.items():
            tag = 'multimask' if multi else 'single'
            refine_mask = None
            for name, pts, lbl in prompt_sets:
                for use_mask in (False, True):
                    if use_mask and refine_mask is None:
                        continue
                    mask = refine_mask if use_mask else np.zeros(
                        (1, 1, mh, mw), np.float32)
                    has = np.array([1.0 if use_mask else 0.0], np.float32)
                    extra = [pts.astype(np.float32), lbl, mask, has]
                    ref = module(*[
                        torch.from_numpy(np.asarray(x))
                        for x in ref_emb + extra
                    ])
                    ref = [r.numpy() for r in ref]
                    out = sess.run(None,
                                   dict(zip(DECODER_INPUTS, ort_emb + extra)))
                    add(
                        path, f'decoder[{tag}] {name}' +
                        (' +mask' if use_mask else ''), out, ref, 1)
                    if refine_mask is None:
                        refine_mask = ref[0][:, :1].astype(np.float32)
    return rows


@torch.no_grad()
def check_perceiver_parity(
        perceiver: nn.Module,
        onnx_file: str,
        map_size: int,
        num_objects: Sequence[int] = (1, 3),
        tol: float = DEFAULT_TOL,
        providers: Optional[Sequence[str]] = None) -> List[Dict]:
    """Perceiver graph vs PyTorch on random memory maps (several object counts,
    dynamic batch)."""
    module = PerceiverOnnx(perceiver).eval()
    sess = create_session(onnx_file, providers)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for n in num_objects:
        mem = torch.randn(
            n, perceiver.in_channels, map_size, map_size, generator=gen)
        pos = torch.randn(n, perceiver.dim, map_size, map_size, generator=gen)
        ref = [r.numpy() for r in module(mem, pos)]
        out = sess.run(None, dict(memory=mem.numpy(), memory_pos=pos.numpy()))
        rows.append(
            _row(f'random x{n} objects', 'memory_perceiver', out, ref, 2, tol))
    return rows


def parity_table(rows: List[Dict], tol: float = DEFAULT_TOL) -> str:
    """Render parity rows with terminaltables."""
    from terminaltables import AsciiTable
    data = [[
        'image', 'graph', 'max |d| feats/masks', 'max |torch|', 'relative',
        'max |d| scores', f'<= {tol:g}'
    ]]
    for r in rows:
        data.append([
            r['image'], r['graph'], f"{r['max_abs_diff']:.2e}",
            f"{r['max_abs_ref']:.2e}", f"{r['rel_diff']:.1e}",
            f"{r['score_diff']:.2e}", 'yes' if r['ok'] else 'NO'
        ])
    return AsciiTable(data).table


__all__ = [
    'check_image_parity', 'check_perceiver_parity', 'image_prompts',
    'parity_table'
]
