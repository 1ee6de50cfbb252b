# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""How well an UNTRAINED Stage 2 student tracker follows its teacher, per
memory variant, with the teacher's own features.

Splits what Stage 2 has to learn into its two parts. The student tracker
of a Stage 2 config (heads copied from the teacher, as Stage 2 starts) is
fed the teacher video neck's levels instead of its own encoder's, so only
its memory differs from the teacher's, and tracks the first clip of the
config's test set from the frame-0 GT masks:

* ``dense``: SAM3's dense bank (must equal the teacher: mask IoU 1.0);
* ``edgetam``: a freshly initialised EdgeTAM Perceiver
  (``pool_residual=False``);
* ``pooled``: the Perceiver as configured, with ``pool_residual=True``
  (window average pooling before training);

and, with ``--stage1 CKPT``, the ``pooled`` tracker on the student
encoder's own levels (what Stage 2 starts from). Prints the mean mask IoU
to the teacher over the tracked frames (frame 0 is the prompt).

Example (the numbers in ``configs/_base_/models/perceiver_memory.py``)::

    python tools/analysis_tools/memory_start_check.py \
        configs/proxy_teacher/stage2.py --grids 4 8 --frames 8 \
        --stage1 work_dirs/quick_start/stage1/iter_800.pth
"""
import argparse
import copy
from types import SimpleNamespace
from typing import List

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from esam3.models.distillers.clip_targets import clip_gt_masks
from esam3.models.necks.neck_levels import NeckLevels
from esam3.registry import DATASETS, MODELS
from esam3.utils import register_all_modules


class TeacherLevels(NeckLevels):
    """Given FPN levels posing as a light-neck student's output (batch rows
    select / split like the student's own)."""

    def __init__(self, levels: List[torch.Tensor], branch: str) -> None:
        super().__init__([levels[-1]], SimpleNamespace(branches=(branch, )),
                         levels[-1].shape[-2:])
        self._levels = {branch: list(levels)}


def teacher_encoder(teacher, student):
    """``student.encode_trunk`` replacement: the teacher video neck's levels of
    the same frames."""
    neck = teacher.tracker.vision_encoder.neck

    def encode(pixels: torch.Tensor) -> TeacherLevels:
        trunk = teacher.encode_trunk(pixels)
        levels = [
            layer(trunk) for layer in neck.fpn_layers[:student.num_read_levels]
        ]
        return TeacherLevels(levels, student.level_branch)

    return encode


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a Stage 2 config (light neck)')
    parser.add_argument('--stage1', help='Stage 1 checkpoint of the student')
    parser.add_argument(
        '--grids',
        type=int,
        nargs='+',
        default=None,
        help='Perceiver window grids to try (default: the config\'s)')
    parser.add_argument('--frames', type=int, default=8)
    return parser.parse_args(argv)


def build(cfg: Config, bank: dict, stage1=None):
    cfg = copy.deepcopy(cfg)
    cfg.model.student.memory_bank = bank
    cfg.model.student.trunk_checkpoint = stage1
    model = MODELS.build(cfg.model)
    return model.eval()


def mean_iou(student: torch.Tensor, teacher: torch.Tensor) -> float:
    """Mean mask IoU over the tracked frames (``[T, N, h, w]`` logits); two
    empty masks agree (IoU 1)."""
    s, t = student[1:] > 0, teacher[1:] > 0
    inter = (s & t).flatten(-2).sum(-1).float()
    union = (s | t).flatten(-2).sum(-1).float()
    iou = torch.where(union > 0, inter / union.clamp(min=1), 1.0)
    return float(iou.mean())


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    bank = cfg.model.student.memory_bank
    grids = args.grids or [bank.perceiver.grid_size[0]]
    variants = [
        ('dense',
         dict(type='DenseMemoryBank', max_cond_frames=bank.max_cond_frames))
    ]
    for g in grids:
        for name, pool in (('edgetam', False), ('pooled', True)):
            b = copy.deepcopy(bank)
            b.perceiver.update(grid_size=(g, g), pool_residual=pool)
            variants.append((f'{name} {g}x{g}', b))
    # the clip and the teacher's tracking, once for every variant
    ds = DATASETS.build(cfg.test_dataloader.dataset)
    torch.manual_seed(0)
    model = build(cfg, variants[0][1])
    data = model.data_preprocessor(pseudo_collate([ds[0]]), False)
    frames = data['inputs'][0][:args.frames]
    gt = clip_gt_masks(data['data_samples'][0], tuple(frames.shape[-2:]),
                       frames.device)
    with torch.no_grad():
        ref = model.teacher.track_clip(frames, gt[0])['mask_logits']
    ref_px = float((ref[1:] > 0).flatten(-2).sum(-1).float().mean())

    def row(memory: str, features: str, student) -> dict:
        with torch.no_grad():
            out = student.forward_clip(frames[None],
                                       gt[0][None].float())['mask_logits'][0]
        return dict(
            memory=memory,
            features=features,
            iou_to_teacher=round(mean_iou(out, ref), 3),
            teacher_mask_px=ref_px)

    rows = []
    for i, (name, b) in enumerate(variants):
        if i:
            torch.manual_seed(0)
            model = build(cfg, b)
        model.student.encode_trunk = teacher_encoder(model.teacher,
                                                     model.student)
        rows.append(row(name, 'teacher', model.student))
    if args.stage1:
        torch.manual_seed(0)
        model = build(cfg, bank, args.stage1)
        rows.append(row('as configured', 'student (Stage 1)', model.student))
    print(f'teacher masks: {ref_px:.0f} px on average (tracked frames)')
    for r in rows:
        print(f"{r['memory']:<16} {r['features']:<18} "
              f"{r['iou_to_teacher']:.3f}")
    return rows


if __name__ == '__main__':
    main()
