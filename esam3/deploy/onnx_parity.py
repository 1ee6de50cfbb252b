# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Onnxruntime vs PyTorch parity of exported esam3 graphs on real images."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from torch import nn

from .concept_onnx import ConceptDecoderOnnx, TextEncoderOnnx
from .image_encoder_onnx import (BRANCH_OUTPUTS, ImageEncoderOnnx,
                                 video_tracker_of)
from .onnx_export import (DECODER_FILES, DECODER_INPUTS, ENCODER_FILE,
                          load_manifest, manifest_resize_mode)
from .ort_graphs import OrtParts
from .ort_session import create_session
from .perceiver_onnx import PerceiverOnnx
from .prompt_decoder_onnx import PromptDecoderOnnx
from .tracker_step_onnx import STATE_NAMES, TrackerStepOnnx

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
    enc_sess = create_session(osp.join(onnx_dir, ENCODER_FILE), providers)
    enc_names = [o.name for o in enc_sess.get_outputs()]
    encoder = ImageEncoderOnnx(
        model,
        [b for b, n in BRANCH_OUTPUTS.items() if n[0] in enc_names]).eval()
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
        ref_all = [e.numpy() for e in encoder(pixels)]
        ort_all = enc_sess.run(None, {'pixel_values': pixels.numpy()})
        add(path, 'encoder', ort_all, ref_all, len(ort_all))
        if not decoders:
            continue
        pick = [enc_names.index(n) for n in BRANCH_OUTPUTS['tracker']]
        ref_emb = [ref_all[i] for i in pick]
        ort_emb = [ort_all[i] for i in pick]
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


def _pixels(path: str, info: dict):
    from esam3.models.data_preprocessors import preprocess_image
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read image {path}')
    return preprocess_image(
        img,
        int(info['img_size']),
        info['mean'],
        info['std'],
        resize_mode=manifest_resize_mode(info))


@torch.no_grad()
def check_concept_parity(
        model: nn.Module,
        onnx_dir: str,
        image_paths: Sequence[str],
        tokenizer,
        phrases: Sequence[str] = ('object', 'a red car'),
        tol: float = DEFAULT_TOL,
        providers: Optional[Sequence[str]] = None) -> List[Dict]:
    """Text encoder and concept decoders: onnxruntime vs PyTorch.

    One ``text_encoder`` row for the phrases (batch), then per image the
    text-only decoder on each phrase and the exemplar decoder on the image's
    prompt boxes (a positive and a negative exemplar), ORT fed with ORT
    features and PyTorch with PyTorch features. Main output: mask logits;
    scores: boxes, query logits, presence.
    """
    parts = OrtParts(onnx_dir, providers)
    info = parts.info
    heads = model.heads
    rows = []
    ids, am = tokenizer(list(phrases))
    text_ref = [t.numpy() for t in TextEncoderOnnx(heads)(ids, am)]
    text_ort = parts.graph('text_encoder')(
        input_ids=ids.numpy().astype(np.int64),
        attention_mask=am.numpy().astype(np.int64))
    text_ort = [text_ort[n] for n in ('text_features', 'text_mask')]
    rows.append(
        _row(f'{len(phrases)} phrases', 'text_encoder', text_ort, text_ref, 1,
             tol))
    encoder = ImageEncoderOnnx(model, ['detector']).eval()
    decoders = {
        False: ConceptDecoderOnnx(heads, False).eval(),
        True: ConceptDecoderOnnx(heads, True).eval()
    }
    names = ('pred_masks', 'pred_boxes', 'pred_logits', 'presence_logits')
    for path in image_paths:
        pixels, meta = _pixels(path, info)
        ref_lv = list(encoder(pixels))
        ort_lv = parts.branch(
            parts.encode(pixels), 'detector', 'concept_decoder')
        pts, _ = image_prompts(path, meta, max_boxes=2)
        xyxy = pts.reshape(-1, 4) / float(info['img_size'])
        cxcywh = np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2,
                           (xyxy[:, 1] + xyxy[:, 3]) / 2,
                           xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]],
                          1)[None].astype(np.float32)
        labels = (np.arange(cxcywh.shape[1]) == 0).astype(np.int64)[None]
        cases = [(f'"{p}"', i, None) for i, p in enumerate(phrases)]
        cases.append((f'"{phrases[0]}" + {cxcywh.shape[1]} exemplars', 0,
                      (cxcywh, labels)))
        for tag, i, ex in cases:
            feeds = [text_ort[0][i:i + 1], text_ort[1][i:i + 1]]
            ref_in = [
                torch.from_numpy(text_ref[0][i:i + 1]),
                torch.from_numpy(text_ref[1][i:i + 1])
            ]
            name = 'concept_decoder'
            if ex is not None:
                name += '_exemplar'
                feeds += list(ex)
                ref_in += [torch.from_numpy(x) for x in ex]
            ref = [
                r.numpy() for r in decoders[ex is not None](*ref_lv, *ref_in)
            ]
            graph = parts.graph('concept_decoder', name)
            out = graph(**dict(zip(graph.inputs, ort_lv + feeds)))
            rows.append(
                _row(
                    osp.basename(path), f'{name} {tag}',
                    [out[n] for n in names], ref, 1, tol))
    return rows


@torch.no_grad()
def check_tracker_parity(
        model: nn.Module,
        onnx_dir: str,
        frame_paths: Sequence[str],
        tol: float = DEFAULT_TOL,
        providers: Optional[Sequence[str]] = None) -> List[Dict]:
    """The tracker graphs looped over a clip vs the PyTorch tracker.

    Frame 0 is prompted with a box (the central half of the frame) through
    ``tracker_prompt.onnx``; the other frames are tracked by
    ``tracker_step.onnx`` carrying the memory state, against
    ``Sam3VideoTrackerStudent.track_step`` on PyTorch features. Rows: the
    prompted frame, then the worst tracked frame (mask logits; object
    scores).
    """
    parts = OrtParts(onnx_dir, providers)
    info = parts.info
    tracker = video_tracker_of(model)
    encode = model.encode_trunk
    track = tracker.new_track()
    state = TrackerStepOnnx(tracker, True).spec.empty_state(1)
    worst = None
    rows = []
    for i, path in enumerate(frame_paths):
        pixels, meta = _pixels(path, info)
        h, w = meta['ori_shape'][:2]
        prompt = None
        feats = dict(
            zip(('vid_s0', 'vid_s1', 'vid'),
                parts.branch(parts.encode(pixels), 'video', 'tracker_step')))
        feeds = dict(feats, frame_idx=np.array([i], np.float32), **state)
        if i == 0:
            sx, sy = meta['scale_factor'][:2]
            box = np.array(
                [[w / 4 * sx, h / 4 * sy], [3 * w / 4 * sx, 3 * h / 4 * sy]],
                np.float32)
            prompt = dict(boxes=torch.from_numpy(box).reshape(1, 1, 4))
            feeds.update(
                points=box[None],
                labels=np.array([[2, 3]], np.int64),
                multimask=np.zeros(1, np.float32))
            out = parts.graph('tracker_step', 'tracker_prompt')(**feeds)
        else:
            out = parts.graph('tracker_step', 'tracker_step')(**feeds)
        state = {n: out['new_' + n] for n in STATE_NAMES}
        logits, scores = tracker.track_step(track, encode(pixels), i, prompt)
        row = _row(
            osp.basename(path), 'tracker_prompt' if i == 0 else
            f'tracker_step (frames 1-{len(frame_paths) - 1}, worst)',
            [out['masks'], out['object_score_logits']],
            [logits[0].numpy(), scores[0].numpy()], 1, tol)
        if i == 0:
            rows.append(row)
        elif worst is None or row['max_abs_diff'] + row['score_diff'] > \
                worst['max_abs_diff'] + worst['score_diff']:
            worst = row
    if worst is not None:
        rows.append(worst)
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
    'check_concept_parity', 'check_tracker_parity', 'check_image_parity',
    'check_perceiver_parity', 'image_prompts', 'parity_table'
]
