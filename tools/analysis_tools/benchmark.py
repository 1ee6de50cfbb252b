# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Component benchmark of the esam3 students against SAM3, per task path.

For each task path a component table (GFLOPs and parameters) of SAM3 and of
each student, real-size architectures (random weights), batch 1, 1008 px:

* **box**: one box prompt -> mask. SAM3: ViT trunk, tracker neck (its four
  levels 288/144/72/36, as transformers computes them), tracker head
  (``conv_s0`` / ``conv_s1`` + prompt encoder + mask decoder). Student:
  backbone, light-neck top-down pass, light-neck tracker levels (three:
  the levels the heads read), the same tracker head.
* **concept**: one noun phrase (32 tokens) -> all instances. SAM3: ViT
  trunk, detector neck (four levels), text encoder, DETR encoder, DETR
  decoder, segmentation head (+ scoring). Student: backbone, top-down,
  detector levels, the same SAM3 heads.
* **concept_light**: the concept path of a light concept student: the
  distilled text student (``--text-student``: a text-distillation config
  whose ``model.student`` is a ``Sam3LiteTextStudent``) instead of SAM3's
  CLIP, and the light detector (``--detr-pool``: the DETR encoder on the
  coarsest detector level average-pooled by this factor, 36x36 at
  1008 px; ``--detr-layers``: DETR encoder layers kept). Ratios are to
  SAM3's concept path.
* **video**: one tracked frame, one object, 7 memory frames and 16 object
  pointers. SAM3: ViT trunk, video tracker neck (four levels), memory
  attention over the dense bank (7 x 72 x 72 + 64 pointer tokens), memory
  encoder, mask decoder. Student: backbone, top-down, tracker levels, the
  Perceiver compressing the new memory frame, memory attention over the
  compressed bank (7 x K + 64 tokens, K and the layer count as configured
  in ``configs/_base_/models/perceiver_memory.py`` / ``--mem-layers``),
  memory encoder, mask decoder.

FLOPs are counted exactly on the meta device (nothing is computed) with
``torch.utils.flop_counter.FlopCounterMode`` (FLOPs = 2 x multiply-
accumulates of matmul / conv / attention); the CPU fused attention op
(``_scaled_dot_product_flash_attention_for_cpu``), which the counter would
count as 0, gets the SDPA formula registered. Parameters are those of the
modules a component runs. ``--time`` adds eager CPU wall time of the box
path, same process, same threads (real-size SAM3 takes ~100 s and >12 GB
per forward on a 2-core CPU).

Examples::

    python tools/analysis_tools/benchmark.py \\
        --models repvit_m1_1,efficientvit_b0 --json work_dirs/bench.json
    python tools/analysis_tools/benchmark.py --models all --markdown
    python tools/analysis_tools/benchmark.py --models repvit_m1_1 --time
"""
import argparse
import glob
import json
import os
import os.path as osp
import platform
import statistics
import sys
import time
import warnings
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import torch
from torch import nn

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT_DIR = osp.join(REPO, 'configs', '_base_', 'models', 'students')
SAM3 = 'sam3'
PATHS = ('box', 'concept', 'concept_light', 'video')
# targets of issue 12 (FLOP ratios SAM3 / student)
TARGETS = {
    ('box', 'repvit_m1_1'): 50.0,
    ('box', 'efficientvit_b0'): 150.0,
    ('video', 'repvit_m1_1'): 22.0,
    ('concept_light', 'repvit_m1_1'): 20.0
}
# targets of issue 14 (parameters used by a path, M)
PARAM_TARGETS = {('concept_light', 'repvit_m1_1'): 90.0}

Row = Tuple[str, float, float]  # component, GFLOPs, params (M)


def available_students() -> List[str]:
    return sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(STUDENT_DIR, '*.py')))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--models',
        default='repvit_m1_1,efficientvit_b0',
        help='comma-separated students (files of configs/_base_/'
        'models/students) or "all"')
    p.add_argument('--img-size', type=int, default=1008)
    p.add_argument(
        '--neck-config',
        default='configs/_base_/models/sam3.py',
        help='config file whose `student_neck` the students use')
    p.add_argument(
        '--memory-config',
        default='configs/_base_/models/perceiver_memory.py',
        help='config file whose `memory_bank` the students use')
    p.add_argument(
        '--mem-latents',
        default=None,
        metavar='G,S',
        help="override the students' Perceiver: G global "
        'latents + an S x S grid of 2D latents (e.g. 64,8 for '
        'K = 128)')
    p.add_argument(
        '--text-student',
        default='configs/text_distill/mobileclip_s0.py',
        help='config whose model.student is the text student of the '
        'concept_light path')
    p.add_argument(
        '--detr-pool',
        type=int,
        default=2,
        help='concept_light: DETR encoder level pooling factor')
    p.add_argument(
        '--detr-layers',
        type=int,
        default=None,
        help='concept_light: DETR encoder layers kept (default: all)')
    p.add_argument('--mem-frames', type=int, default=7)
    p.add_argument('--mem-pointers', type=int, default=16)
    p.add_argument(
        '--mem-layers',
        type=int,
        default=None,
        help="students' memory-attention layers (default: "
        "the memory config's memory_attention.num_layers, "
        "else SAM3's)")
    p.add_argument(
        '--time',
        action='store_true',
        help='also time the box path (eager CPU, random weights)')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--json', default=None, help='write results here')
    p.add_argument(
        '--markdown', action='store_true', help='print the tables as markdown')
    p.add_argument(
        '--table-from',
        default=None,
        metavar='JSON',
        help='only print the tables of a saved result file')
    return p.parse_args(argv)


# ------------------------------------------------------------ counting
def register_cpu_attention() -> None:
    """Let FlopCounterMode count the CPU fused attention op (by default it
    counts it as 0)."""
    from torch.utils import flop_counter as fc
    op = getattr(torch.ops.aten, '_scaled_dot_product_flash_attention_for_cpu',
                 None)
    if op is None or op in fc.flop_registry:
        return

    @fc.register_flop_formula(op, get_raw=True)
    def _cpu_sdpa(query, key, value, *args, out_val=None, **kwargs):
        return fc.sdpa_flop_count(query.shape, key.shape, value.shape)


def gflops(fn: Callable[[], object]) -> Tuple[float, object]:
    """GFLOPs of one call and its result."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        out = fn()
    return counter.get_total_flops() / 1e9, out


def gflops_by_module(
        fn: Callable[[], object]) -> Tuple[Dict[str, float], object]:
    """GFLOPs per module name (``Class.attr.sub``) of one call."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        out = fn()
    return {
        k: sum(v.values()) / 1e9
        for k, v in counter.get_flop_counts().items()
    }, out


def params_m(*modules: nn.Module) -> float:
    seen, n = set(), 0
    for m in modules:
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                n += p.numel()
    return n / 1e6


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return fn()


# -------------------------------------------------------------- models
def build_sam3(device: str = 'meta',
               detector_vit: bool = True) -> Dict[str, nn.Module]:
    """Real-size SAM3 detector, tracker and video tracker (random weights); one
    ViT trunk serves all three (``detector_vit=False``: a one-layer stand-in,
    for running the heads on real tensors)."""
    from transformers import (Sam3Config, Sam3Model, Sam3TrackerConfig,
                              Sam3TrackerModel, Sam3TrackerVideoConfig,
                              Sam3TrackerVideoModel)
    with torch.device(device):
        dcfg = Sam3Config()
        if not detector_vit:
            dcfg.vision_config.backbone_config.num_hidden_layers = 1
            dcfg.vision_config.backbone_config.global_attn_indexes = [0]
        det = _quiet(lambda: Sam3Model(dcfg))
        tcfg = Sam3TrackerConfig()
        tcfg.vision_config.backbone_config.num_hidden_layers = 1
        tcfg.vision_config.backbone_config.global_attn_indexes = [0]
        trk = _quiet(lambda: Sam3TrackerModel(tcfg))
        vcfg = Sam3TrackerVideoConfig()
        vcfg.vision_config.backbone_config.num_hidden_layers = 1
        vcfg.vision_config.backbone_config.global_attn_indexes = [0]
        vid = _quiet(lambda: Sam3TrackerVideoModel(vcfg))
    trk.vision_encoder.backbone = None
    vid.vision_encoder.backbone = None
    for m in (det, trk, vid):
        m.eval().requires_grad_(False)
    return dict(detector=det, tracker=trk, video=vid)


def build_student(name: str, neck_cfg: dict, device: str = 'meta'):
    from mmengine.config import Config

    from esam3.registry import MODELS
    path = osp.join(STUDENT_DIR, f'{name}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'unknown student {name!r}: no {path} '
                                f'(available: {available_students()})')
    backbone = Config.fromfile(path).student_backbone
    with torch.device(device):
        trunk = MODELS.build(
            dict(type='StudentTrunk', backbone=backbone, neck=dict(neck_cfg)))
    return trunk.eval().requires_grad_(False)


def build_perceiver(memory_cfg: str,
                    latents: Optional[str] = None,
                    device: str = 'meta') -> nn.Module:
    from mmengine.config import Config

    from esam3.registry import MODELS
    bank = Config.fromfile(osp.join(REPO, memory_cfg)).memory_bank
    cfg = dict(bank.perceiver)
    if latents:
        g, grid = (int(v) for v in latents.split(','))
        cfg.update(num_global_latents=g, grid_size=(grid, grid))
    with torch.device(device):
        perceiver = MODELS.build(cfg)
    return perceiver.eval().requires_grad_(False)


# ---------------------------------------------------------- components
def box_prompt(size: int, device):
    s = float(size)
    points = torch.tensor([[[[s / 4, s / 4], [3 * s / 4, 3 * s / 4]]]],
                          device=device)
    labels = torch.tensor([[[2, 3]]], dtype=torch.long, device=device)
    return points, labels


def run_tracker_head(trk, levels, points, labels):
    """SAM3's tracker head on the three tracker levels: conv_s0/s1, the no-
    memory embedding, prompt encoder and mask decoder (one mask)."""
    md = trk.mask_decoder
    emb = [
        md.conv_s0(levels[0]),
        md.conv_s1(levels[1]),
        levels[2] + trk.no_memory_embedding.view(1, -1, 1, 1)
    ]
    return trk(
        image_embeddings=emb,
        input_points=points,
        input_labels=labels,
        multimask_output=False)


def tracker_head_rows(trk, levels, size: int) -> List[Row]:
    """conv_s0/s1 + prompt encoder + mask decoder on the tracker levels."""
    points, labels = box_prompt(size, levels[0].device)
    g, _ = gflops(lambda: run_tracker_head(trk, levels, points, labels))
    return [('tracker head (conv_s0/s1, prompt enc., mask dec.)', g,
             params_m(trk.mask_decoder, trk.prompt_encoder))]


_CONCEPT_ROWS: Dict[Tuple, List[Row]] = {}


def concept_head_rows(det,
                      levels,
                      text_cfg: Optional[dict] = None,
                      detr_layers: Optional[int] = None) -> List[Row]:
    """Text encoder, DETR encoder / decoder, segmentation head, rest.

    transformers' DETR decoder reads its spatial shapes with ``.item()``,
    which the meta device cannot do: these heads run once on real CPU
    tensors (random weights; FLOPs do not depend on values) and the rows
    are reused for every model with the same level shapes. ``text_cfg``
    (a text student config) replaces SAM3's CLIP, ``detr_layers`` keeps
    that many DETR encoder layers.
    """
    key = (tuple(tuple(lv.shape)
                 for lv in levels), repr(text_cfg), detr_layers)
    if key not in _CONCEPT_ROWS:
        cpu = build_sam3('cpu', detector_vit=False)['detector']
        text = None
        if text_cfg is not None:
            from esam3.registry import MODELS
            text = MODELS.build(text_cfg).eval().requires_grad_(False)
        if detr_layers is not None:
            cpu.detr_encoder.layers = nn.ModuleList(
                list(cpu.detr_encoder.layers)[:detr_layers])
        torch.manual_seed(0)
        with torch.no_grad():
            _CONCEPT_ROWS[key] = _concept_head_rows(
                cpu, [torch.randn(s) for s in key[0]], text)
        del cpu, text
    return _CONCEPT_ROWS[key]


def _concept_head_rows(det, levels, text_model=None) -> List[Row]:
    from transformers.models.sam3.modeling_sam3 import Sam3VisionEncoderOutput
    dev = levels[0].device
    ids = torch.zeros(1, 32, dtype=torch.long, device=dev)
    # no attention mask = all 32 tokens valid (the same FLOPs; a mask
    # tensor is read with .item(), which the meta device cannot do)
    mask = None
    if text_model is None:
        g_text, text = gflops(lambda: det.get_text_features(
            input_ids=ids, attention_mask=mask, return_dict=True))
        text_params = params_m(det.text_encoder, det.text_projection)
    else:
        g_text, text = gflops(lambda: text_model(ids, mask))
        text_params = params_m(text_model)
    empty = levels[-1].new_zeros(1, levels[-1].shape[1], 0, 0)
    vis = Sam3VisionEncoderOutput(
        fpn_hidden_states=tuple(levels) + (empty, ),
        fpn_position_encoding=tuple(
            det.vision_encoder.neck.position_encoding(lv.shape, dev, lv.dtype)
            for lv in levels) + (empty, ))
    per, _ = gflops_by_module(
        lambda: det(vision_embeds=vis, text_embeds=text, attention_mask=mask))
    enc = per.get('Sam3Model.detr_encoder', 0.0)
    dec = per.get('Sam3Model.detr_decoder', 0.0)
    seg = per.get('Sam3Model.mask_decoder', 0.0)
    rest = per['Global'] - enc - dec - seg
    return [('text encoder (one phrase, 32 tokens)', g_text, text_params),
            ('DETR encoder', enc, params_m(det.detr_encoder)),
            ('DETR decoder', dec, params_m(det.detr_decoder)),
            ('segmentation head', seg, params_m(det.mask_decoder)),
            ('scoring + rest', rest, params_m(det.dot_product_scoring))]


def video_head_rows(vid, levels, size: int, mem_tokens: int, pointers: int,
                    dense: bool) -> List[Row]:
    """Memory attention over ``mem_tokens`` memory tokens plus the pointer
    tokens, memory encoder, mask decoder (tracked frame, no prompt)."""
    from esam3.models.trackers.tracker_decode import sam_decode
    dev = levels[0].device
    c = levels[2].shape[1]
    h, w = levels[2].shape[-2:]
    mem_dim = int(vid.mem_dim)
    ptr_tokens = pointers * (c // mem_dim)
    n_keys = mem_tokens + ptr_tokens
    feats = levels[2].flatten(2).permute(2, 0, 1)
    pos = vid.vision_encoder.neck.position_encoding(
        levels[2].shape, dev, levels[2].dtype).flatten(2).permute(2, 0, 1)
    memory = torch.zeros(n_keys, 1, mem_dim, device=dev)
    g_mem, readout = gflops(lambda: vid.memory_attention(
        current_vision_features=feats,
        current_vision_position_embeddings=pos,
        memory=memory,
        memory_posision_embeddings=memory,
        num_object_pointer_tokens=ptr_tokens if dense else n_keys))
    readout = readout.reshape(1, h * w, c).transpose(1, 2).reshape(1, c, h, w)
    md = vid.mask_decoder

    def decode():
        emb = [md.conv_s0(levels[0]), md.conv_s1(levels[1]), readout]
        return sam_decode(vid, emb, multimask_output=False)

    g_dec, out = gflops(decode)
    g_enc, _ = gflops(lambda: vid._encode_new_memory(
        current_vision_feats=feats,
        pred_masks_high_res=out.high_res_masks,
        object_score_logits=out.object_score_logits.reshape(1, 1, 1),
        is_mask_from_pts=False))
    kind = 'dense' if dense else 'compressed'
    return [(f'memory attention ({kind}, {n_keys} keys, '
             f'{len(vid.memory_attention.layers)} layers)', g_mem,
             params_m(vid.memory_attention)),
            ('memory encoder', g_enc, params_m(vid.memory_encoder)),
            ('mask decoder (+ conv_s0/s1, pointer)', g_dec,
             params_m(md, vid.prompt_encoder, vid.object_pointer_proj))]


def sam3_paths(models, args) -> Dict[str, List[Row]]:
    det, trk, vid = models['detector'], models['tracker'], models['video']
    size = args.img_size
    pixels = torch.empty(1, 3, size, size, device='meta')
    vit = det.vision_encoder.backbone
    g_vit, tokens = gflops(lambda: vit(pixels).last_hidden_state)
    grid = size // 14
    trunk = tokens.transpose(1, 2).reshape(1, -1, grid, grid)
    enc = [('encoder: SAM3 ViT trunk', g_vit, params_m(vit))]

    def neck_rows(model, label):
        rows, levels = [], []
        for layer in model.vision_encoder.neck.fpn_layers:
            g, lv = gflops(lambda: layer(trunk))
            levels.append(lv)
            rows.append(
                (f'{label} neck level {lv.shape[-1]}', g, params_m(layer)))
        return rows, levels[:3]

    t_rows, t_lv = neck_rows(trk, 'tracker')
    d_rows, d_lv = neck_rows(det, 'detector')
    v_rows, v_lv = neck_rows(vid, 'video tracker')
    mem = args.mem_frames * grid * grid
    concept = enc + d_rows + concept_head_rows(det, d_lv)
    return dict(
        box=enc + t_rows + tracker_head_rows(trk, t_lv, size),
        concept=concept,
        concept_light=concept,  # SAM3 is the reference
        video=enc + v_rows +
        video_head_rows(vid, v_lv, size, mem, args.mem_pointers, True))


def student_paths(name: str, models, perceiver, args) -> Dict[str, List[Row]]:
    from mmengine.config import Config
    neck_cfg = Config.fromfile(osp.join(REPO, args.neck_config)).student_neck
    student = build_student(name, neck_cfg)
    det, trk, vid = models['detector'], models['tracker'], models['video']
    size = args.img_size
    pixels = torch.empty(1, 3, size, size, device='meta')
    g_bb, feats = gflops(lambda: student.backbone(pixels))
    neck = student.neck
    grid = student.grid((size, size))
    g_td, td = gflops(lambda: neck.top_down(feats, None))
    enc = [(f'encoder: {name} backbone', g_bb, params_m(student.backbone)),
           ('light neck: top-down', g_td, params_m(neck.lateral))]

    def branch_rows(branch, label):
        total, levels = gflops(lambda: neck.branch(td, branch, grid))
        # per level: its output block on an input of the level's size
        # (the resize / add before it count no FLOPs)
        rows = []
        for block, lv in zip(neck.outputs[branch], levels):
            x = torch.empty(
                1, block[0].in_channels, *lv.shape[-2:], device='meta')
            rows.append((f'{label} level {lv.shape[-1]} (light neck)',
                         gflops(lambda: block(x))[0], params_m(block)))
        assert abs(sum(r[1] for r in rows) - total) < 1e-6 * max(total, 1)
        return rows, levels

    t_rows, t_lv = branch_rows('tracker', 'tracker')
    d_rows, d_lv = branch_rows('detector', 'detector')
    # the Perceiver compresses the new memory frame once per frame
    mem_feats = torch.empty(
        1, int(vid.mem_dim), grid[0], grid[1], device='meta')
    g_p, compressed = gflops(lambda: perceiver(mem_feats))
    k = compressed[0].shape[1]
    perc = [(f'Perceiver (new memory frame -> {k} tokens)', g_p,
             params_m(perceiver))]
    # light detector: the DETR encoder reads the pooled coarsest level
    # (average pooling: no FLOPs counted)
    light_lv = list(d_lv)
    light_lv[-1] = torch.nn.functional.avg_pool2d(light_lv[-1], args.detr_pool)
    text_cfg = Config.fromfile(osp.join(REPO, args.text_student)).model.student
    return dict(
        box=enc + t_rows + tracker_head_rows(trk, t_lv, size),
        concept=enc + d_rows + concept_head_rows(det, d_lv),
        concept_light=enc + d_rows +
        concept_head_rows(det, light_lv, text_cfg.to_dict(), args.detr_layers),
        video=enc + t_rows + perc + video_head_rows(
            vid, t_lv, size, args.mem_frames * k, args.mem_pointers, False))


# -------------------------------------------------------------- timing
def time_box_path(name: str, args) -> Dict:
    """Eager CPU wall time of the box path (real tensors, random weights),
    median of ``--repeats`` runs after one warm-up."""
    from mmengine.config import Config

    from esam3.models.heads.sam3_heads import Sam3Heads
    from esam3.models.necks import NeckLevels  # noqa: F401
    size = args.img_size
    models = build_sam3('cpu') if name == SAM3 else None
    if name == SAM3:
        vit = models['detector'].vision_encoder.backbone
        trk = models['tracker']

        def encode(x):
            tok = vit(x).last_hidden_state
            return tok.transpose(1, 2).reshape(1, -1, size // 14, size // 14)

        levels_of = (
            lambda t:
            [layer(t) for layer in trk.vision_encoder.neck.fpn_layers][:3])
    else:
        from transformers import Sam3TrackerConfig, Sam3TrackerModel
        neck_cfg = Config.fromfile(osp.join(REPO,
                                            args.neck_config)).student_neck
        student = build_student(name, neck_cfg, 'cpu')
        tcfg = Sam3TrackerConfig()
        tcfg.vision_config.backbone_config.num_hidden_layers = 1
        tcfg.vision_config.backbone_config.global_attn_indexes = [0]
        trk = _quiet(lambda: Sam3TrackerModel(tcfg)).eval()
        trk.vision_encoder.backbone = None
        encode = student
        levels_of = (lambda f: f.levels('tracker'))
    points, labels = box_prompt(size, 'cpu')
    x = torch.randn(1, 3, size, size)

    def run():
        return run_tracker_head(trk, levels_of(encode(x)), points, labels)

    del Sam3Heads
    times = []
    with torch.no_grad():
        run()
        for _ in range(max(1, args.repeats if name != SAM3 else 1)):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
    return dict(median_s=statistics.median(times), runs=len(times))


# --------------------------------------------------------------- tables
def path_total(rows: Iterable[Row]) -> Tuple[float, float]:
    rows = list(rows)
    return sum(r[1] for r in rows), sum(r[2] for r in rows)


def tables(result: Dict, markdown: bool = True) -> str:
    out = []
    names = [SAM3] + [m for m in result['paths'] if m != SAM3]
    for path in PATHS:
        if any(path not in result['paths'][n] for n in names):
            continue  # e.g. a result file written before the path existed
        out.append(f'\n### {path} path (GFLOPs / params M)\n')
        out.append('| component | ' + ' | '.join(names) + ' |')
        out.append('|---|' + '---|' * len(names))
        # rows in order of appearance, matched by component label
        labels = []
        for n in names:
            for label, _, _ in result['paths'][n][path]:
                key = label.replace(n, '<student>')
                if key not in labels:
                    labels.append(key)
        for key in labels:
            cells = []
            for n in names:
                hit = [
                    r for r in result['paths'][n][path]
                    if r[0].replace(n, '<student>') == key
                ]
                cells.append(
                    '-' if not hit else f'{hit[0][1]:.1f} / {hit[0][2]:.2f}')
            out.append(f'| {key} | ' + ' | '.join(cells) + ' |')
        totals = [path_total(result['paths'][n][path]) for n in names]
        out.append('| **total** | ' + ' | '.join(f'**{g:.1f}** / {p:.2f}'
                                                 for g, p in totals) + ' |')
        ref = totals[0][0]
        out.append('| **SAM3 / model (FLOPs)** | ' +
                   ' | '.join(f'**{ref / g:.1f}x**' for g, _ in totals) + ' |')
    out.append('\n### targets (FLOP ratio SAM3 / student)\n')
    out.append('| path | student | target | measured | met |')
    out.append('|---|---|---|---|---|')
    for (path, name), target in TARGETS.items():
        if name not in result['paths'] or path not in result['paths'][name]:
            continue
        ratio = path_total(result['paths'][SAM3][path])[0] / path_total(
            result['paths'][name][path])[0]
        out.append(f'| {path} | {name} | >= {target:.0f}x | {ratio:.1f}x | '
                   f"{'yes' if ratio >= target else 'NO'} |")
    for (path, name), target in PARAM_TARGETS.items():
        if name not in result['paths'] or path not in result['paths'][name]:
            continue
        used = path_total(result['paths'][name][path])[1]
        out.append(f'| {path} | {name} | <= {target:.0f}M params | '
                   f'{used:.1f}M | {"yes" if used <= target else "NO"} |')
    if result.get('timing'):
        out.append('\n### box path, eager CPU wall time\n')
        out.append('| model | median s | SAM3 / model |')
        out.append('|---|---|---|')
        t_ref = result['timing'].get(SAM3, {}).get('median_s')
        for n, t in result['timing'].items():
            ratio = '-' if t_ref is None else f"{t_ref / t['median_s']:.1f}x"
            out.append(f"| {n} | {t['median_s']:.2f} | {ratio} |")
    text = '\n'.join(out)
    return text if markdown else text.replace('**', '')


def environment(args) -> Dict:
    import transformers
    return dict(
        torch=torch.__version__,
        transformers=transformers.__version__,
        python=platform.python_version(),
        cpu=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        command=' '.join([osp.relpath(__file__, REPO)] + sys.argv[1:]))


def run_benchmark(args) -> Dict:
    from mmengine.registry import init_default_scope

    import esam3  # noqa: F401  (registries)
    init_default_scope('esam3')
    register_cpu_attention()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = available_students() if args.models == 'all' else [
        m.strip() for m in args.models.split(',') if m.strip()
    ]
    models = build_sam3('meta')
    if args.mem_layers is None:  # what the shipped student configs use
        from mmengine.config import Config
        shipped = Config.fromfile(osp.join(REPO, args.memory_config))
        args.mem_layers = (shipped.get('memory_attention')
                           or {}).get('num_layers')
    if args.mem_layers is not None:
        layers = models['video'].memory_attention.layers
        if not 0 < args.mem_layers <= len(layers):
            raise ValueError(f'--mem-layers must be 1..{len(layers)}')
        video_student = dict(models)
        # a student video tracker with fewer memory-attention layers
        import copy

        # (shallow copies with their own sub-module dicts: SAM3 keeps its
        # layers)
        vid = copy.copy(models['video'])
        vid._modules = dict(vid._modules)
        mem = copy.copy(vid.memory_attention)
        mem._modules = dict(mem._modules)
        mem.layers = nn.ModuleList(list(layers)[:args.mem_layers])
        vid.memory_attention = mem
        video_student['video'] = vid
    else:
        video_student = models
    perceiver = build_perceiver(args.memory_config, args.mem_latents)
    result = dict(paths={SAM3: sam3_paths(models, args)})
    for name in names:
        result['paths'][name] = student_paths(name, video_student, perceiver,
                                              args)
    if args.time:
        result['timing'] = {n: time_box_path(n, args) for n in names + [SAM3]}
    result['environment'] = environment(args)
    return result


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.table_from:
        with open(args.table_from) as f:
            print(tables(json.load(f), args.markdown))
        return 0
    result = run_benchmark(args)
    print(tables(result, args.markdown))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
        print(f'results written to {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
