# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Latency and mask agreement of the deployed task paths, side by side.

One run, one machine, per task path:

* ``encoder``: the image encoder alone on normalised pixels
  (:class:`~esam3.deploy.ImageEncoderOnnx`: trunk / backbone + the levels
  every head reads; for the student exactly ``encoder.onnx``), no pre- or
  post-processing;
* ``box``: ``set_image`` + one box prompt (``predict``, single mask);
* ``concept``: ``set_image`` + one phrase (``predict_concept``, the text
  encoder included);
* ``video``: one tracked frame of ``propagate`` (frame decode, encoder,
  tracker step, one object), averaged over ``--frames`` frames;

and per back-end: eager SAM3 (the config's teacher; for video the teacher
of ``--video-teacher``), the eager student (``ImagePredictor`` /
``VideoPredictor``), and the student exported by
``tools/deployment/export_onnx.py`` on onnxruntime in fp32 and int8
(``dynamic`` and/or ``static``, see :mod:`esam3.deploy.onnx_quantize`),
through ``OrtImagePredictor`` / ``OrtVideoPredictor``. All back-ends run
the same predictor code (preprocessing, prompt mapping, pasting masks back),
so the times compare the networks plus the same glue.

Mask agreement: the student fp32 rows against the eager student, the int8
rows against onnxruntime fp32: IoU of the box mask at the original size,
the per-query IoU of the concept decoder's low-res masks (query by query,
logits > 0), and the per-frame IoU over the tracked frames, averaged over
the pairs that are not both empty ("n/a" when all are).

Times are medians over ``--repeats`` after ``--warmup`` runs, per image
(bundled COCO-format samples) or per frame (bundled DAVIS clip).

Examples::

    # tiny models (what docs/deployment.md reports)
    python tools/analysis_tools/benchmark_deploy.py \\
        --video-teacher configs/stage2/tiny.py --json work_dirs/deploy.json
    # real size: a random real-size SAM3 from tools/misc/make_random_sam3.py
    python tools/analysis_tools/benchmark_deploy.py \\
        --config configs/stage3/repvit_m1_1.py --size 1008 \\
        --sam3 /tmp/sam3_random
"""
import argparse
import glob
import json
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IMAGES = osp.join(REPO, 'data/samples/coco/images/*.jpg')
CALIB = osp.join(REPO, 'data/samples/sa1b/*.jpg')
CLIP = osp.join(REPO, 'data/samples/davis/JPEGImages/480p/carphone')
PATHS = ('encoder', 'box', 'concept', 'video')
# exported parts each path needs (the encoder path: the levels of all)
PATH_PARTS = {
    'encoder': ('encoder', 'prompt_decoder', 'text_encoder', 'concept_decoder',
                'tracker_step'),
    'box': ('encoder', 'prompt_decoder'),
    'concept': ('encoder', 'text_encoder', 'concept_decoder'),
    'video': ('encoder', 'tracker_step'),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='ORT fp32 / int8 vs eager student vs eager SAM3 per '
        'task path (box, concept, video step)')
    parser.add_argument(
        '--config',
        default=osp.join(REPO, 'configs/stage3/tiny.py'),
        help='Stage 3 config (student with concept heads and a video '
        'tracker; its teacher is the eager SAM3 baseline)')
    parser.add_argument(
        '--checkpoint', default=None, help='student checkpoint (strict)')
    parser.add_argument(
        '--size',
        type=int,
        default=None,
        help='input size; 1008 needs a real-size SAM3 (--sam3)')
    parser.add_argument(
        '--sam3',
        default=None,
        help='local SAM3 folder (e.g. tools/misc/make_random_sam3.py '
        'output) for the teacher and the student heads')
    parser.add_argument(
        '--video-teacher',
        default=None,
        help='config whose teacher is a SAM3 video tracker (eager SAM3 '
        'video row; e.g. configs/stage2/tiny.py)')
    parser.add_argument(
        '--paths', nargs='+', choices=PATHS, default=list(PATHS))
    parser.add_argument(
        '--quant-modes',
        nargs='*',
        choices=['dynamic', 'static'],
        default=['dynamic', 'static'])
    parser.add_argument('--skip-teacher', action='store_true')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--text', default='coin')
    parser.add_argument('--work-dir', default=None, help='export folder')
    parser.add_argument('--json', default=None, help='write rows here')
    return parser.parse_args(argv)


def _median_ms(fn: Callable[[], object], repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def _central_box(path: str) -> List[float]:
    import cv2
    h, w = cv2.imread(path).shape[:2]
    return [w / 4, h / 4, 3 * w / 4, 3 * h / 4]


# --------------------------------------------------------------- per path
def bench_encoder(pred, images, args) -> Dict:
    import cv2

    from esam3.models.data_preprocessors import preprocess_image
    times = []
    for img in images:
        pixels, _ = preprocess_image(
            cv2.imread(img),
            pred.img_size,
            pred.mean,
            pred.std,
            resize_mode=pred.resize_mode)
        if hasattr(pred, 'parts'):

            def run():
                return pred.parts.encode(pixels)
        else:
            from esam3.deploy import ImageEncoderOnnx
            encoder = ImageEncoderOnnx(pred.model).eval()

            def run():
                return encoder(pixels)

        times.append(_median_ms(run, args.repeats, args.warmup))
    return dict(ms=statistics.median(times), masks=None)


def bench_box(pred, images, args) -> Dict:
    masks, times = [], []
    for img in images:
        box = _central_box(img)

        def run():
            pred.set_image(img, channel_order='bgr')
            return pred.predict(boxes=[box], multimask_output=False)

        times.append(_median_ms(run, args.repeats, args.warmup))
        masks.append(run()['masks'][0, 0])
    return dict(ms=statistics.median(times), masks=masks)


def bench_concept(pred, images, args) -> Dict:
    masks, times = [], []
    for img in images:

        def run():
            pred.set_image(img, channel_order='bgr')
            return pred.predict_concept(text=args.text, score_thr=0.0)

        times.append(_median_ms(run, args.repeats, args.warmup))
        pred.set_image(img, channel_order='bgr')
        # the raw decoder output, query by query (no score sorting)
        out = pred._decode_concept(
            pred._text_inputs(args.text, None), None, None)
        masks.append(out.pred_masks[0].cpu().numpy() > 0)  # low res
    return dict(ms=statistics.median(times), masks=masks)


def bench_video(pred, args) -> Dict:
    pred.init_state(CLIP)
    box = _central_box(sorted(glob.glob(osp.join(CLIP, '*.jpg')))[0])
    pred.add_prompt(0, 1, box=box)
    n = args.frames

    def run():
        return [m[0] for _, _, m in pred.propagate(max_frames=n + 1)]

    # the first visited frame is the prompted one: time the tracked frames
    ms = _median_ms(run, max(1, args.repeats // 2), args.warmup)
    return dict(ms=ms / (n + 1), masks=run()[1:])


def _agreement(path: str, a: Dict, b: Dict) -> Optional[float]:
    """Mean IoU over the mask pairs that are not both empty (None when all
    are: agreement on empty masks says nothing)."""
    if a['masks'] is None:
        return None
    if path == 'concept':  # query by query
        pairs = [(x, y) for qa, qb in zip(a['masks'], b['masks'])
                 for x, y in zip(qa, qb)]
    else:
        pairs = list(zip(a['masks'], b['masks']))
    ious = [_iou(x, y) for x, y in pairs if x.any() or y.any()]
    return float(np.mean(ious)) if ious else None


# ---------------------------------------------------------------- models
def _cfg_options(args) -> dict:
    opts = {}
    if args.sam3:
        opts.update({
            'model.teacher.pretrained': args.sam3,
            'model.student.sam3.pretrained': args.sam3,
            'model.student.video.sam3_video.pretrained': args.sam3,
        })
    return opts


def build(args):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import esam3  # noqa: F401
    from esam3.registry import MODELS
    from esam3.utils.checkpoint import load_student_checkpoint
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(_cfg_options(args))
    init_default_scope('esam3')
    torch.manual_seed(0)
    student = MODELS.build(cfg.model.student).eval()
    if args.checkpoint:
        load_student_checkpoint(student, args.checkpoint, prefix='student.')
    teacher = None
    if not args.skip_teacher:
        teacher = MODELS.build(cfg.model.teacher).eval()
    size = int(student.heads.image_size)
    if args.size and args.size != size:
        raise SystemExit(f'--size {args.size}: the config builds {size} px '
                         'models (pass a real-size config and --sam3)')
    return cfg, student, teacher


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_grad_enabled(False)
    torch.set_num_threads(args.threads)
    cfg, student, teacher = build(args)
    from esam3.apis import ImagePredictor, VideoPredictor
    from esam3.deploy import OrtImagePredictor, OrtVideoPredictor, export_model
    from esam3.deploy.onnx_quantize import quantize_export
    from esam3.registry import MODELS
    pre = cfg.model.get('data_preprocessor', {}) or {}
    tok_cfg = dict(cfg.model.get('tokenizer', dict(type='Sam3Tokenizer')))
    size = int(student.heads.image_size)
    work = args.work_dir or tempfile.mkdtemp(prefix='esam3_deploy_')
    fp32 = osp.join(work, 'fp32')
    start = time.perf_counter()
    export_model(
        student,
        fp32,
        size,
        pre.get('mean', [127.5] * 3),
        pre.get('std', [127.5] * 3),
        resize_mode=pre.get('resize_mode', 'square'),
        parts=sorted({p
                      for path in args.paths
                      for p in PATH_PARTS[path]}),
        tokenizer=tok_cfg)
    print(f'exported {fp32} in {time.perf_counter() - start:.1f} s')
    dirs = {'ORT fp32': fp32}
    calib = sorted(glob.glob(CALIB))
    for mode in args.quant_modes:
        dirs[f'ORT int8 {mode}'] = quantize_export(
            fp32, osp.join(work, f'int8_{mode}'), mode,
            calib)['manifest'].rsplit(os.sep, 1)[0]
    kw = dict(
        img_size=size,
        mean=pre.get('mean', [127.5] * 3),
        std=pre.get('std', [127.5] * 3),
        resize_mode=pre.get('resize_mode', 'square'))
    tokenizer = MODELS.build(tok_cfg)
    image_preds = {
        'eager student': ImagePredictor(student, tokenizer=tokenizer, **kw)
    }
    if teacher is not None:
        image_preds = {
            'eager SAM3': ImagePredictor(teacher, tokenizer=tokenizer, **kw),
            **image_preds
        }
    for name, d in dirs.items():
        image_preds[name] = OrtImagePredictor(d, num_threads=args.threads)
    video_preds = {}
    if 'video' in args.paths:
        if args.video_teacher and not args.skip_teacher:
            from mmengine.config import Config
            vcfg = Config.fromfile(args.video_teacher)
            vteacher = MODELS.build(vcfg.model.teacher).eval()
            video_preds['eager SAM3'] = VideoPredictor(vteacher, **kw)
        video_preds['eager student'] = VideoPredictor(student, **kw)
        for name, d in dirs.items():
            video_preds[name] = OrtVideoPredictor(d, num_threads=args.threads)
    images = sorted(glob.glob(IMAGES))
    rows = []
    for path in args.paths:
        preds = video_preds if path == 'video' else image_preds
        results = {}
        for name, pred in preds.items():
            if path == 'encoder':
                results[name] = bench_encoder(pred, images, args)
            elif path == 'box':
                results[name] = bench_box(pred, images, args)
            elif path == 'concept':
                results[name] = bench_concept(pred, images, args)
            else:
                results[name] = bench_video(pred, args)
            print(f'{path:8s} {name:18s} {results[name]["ms"]:9.1f} ms')
        base = results.get('eager SAM3', {}).get('ms')
        ort = results['ORT fp32']['ms']
        for name, res in results.items():
            ref = None
            if path == 'encoder':
                pass
            elif name == 'ORT fp32':
                ref = 'eager student'
            elif name.startswith('ORT int8'):
                ref = 'ORT fp32'
            rows.append(
                dict(
                    path=path,
                    backend=name,
                    ms=round(res['ms'], 2),
                    speedup_vs_sam3=round(base /
                                          res['ms'], 2) if base else None,
                    speedup_vs_ort_fp32=round(ort / res['ms'], 2),
                    iou_ref=ref,
                    mask_iou=_round(_agreement(path, res, results[ref]))
                    if ref else None))
    print_table(rows, size, args)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(
                dict(
                    rows=rows,
                    size=size,
                    config=osp.relpath(args.config, REPO),
                    threads=args.threads,
                    machine=platform.processor() or platform.machine(),
                    cpus=os.cpu_count()),
                f,
                indent=2)
    return 0


def _round(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 4)


def print_table(rows: List[Dict], size: int, args) -> None:
    print(f'\n{size} px, {args.threads} threads, '
          f'{osp.relpath(args.config, REPO)}')
    print('| path | back-end | ms | x eager SAM3 | x ORT fp32 | '
          'mask IoU (vs) |')
    print('|---|---|---|---|---|---|')
    for r in rows:
        sam3 = f"{r['speedup_vs_sam3']:.2f}" if r['speedup_vs_sam3'] \
            else '-'
        iou = '-'
        if r['iou_ref']:
            iou = 'n/a, all masks empty' if r['mask_iou'] is None else \
                f"{r['mask_iou']:.4f}"
            iou += f" ({r['iou_ref']})"
        print(f"| {r['path']} | {r['backend']} | {r['ms']:.1f} | {sam3} | "
              f"{r['speedup_vs_ort_fp32']:.2f} | {iou} |")


if __name__ == '__main__':
    sys.exit(main())
