# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Downstream agreement of a distilled text student with SAM3's text encoder.

For every image / phrase pair of an SA-Co json, SAM3's concept heads (the
teacher of a Stage 1/3 config) answer the phrase twice on the same image
features: with SAM3's own text features and with the text student's. The
comparison (instance scores of detections matched by box IoU, presence) is
reported with :class:`~esam3.evaluation.ScoreCalibrationMetric`
(``calib/instance_mad`` etc.; 0 = the student's text changes nothing
downstream)::

    python tools/analysis_tools/text_concept_agreement.py \\
        configs/stage3/tiny.py configs/text_distill/tiny.py \\
        work_dirs/tiny/iter_200.pth --ann data/samples/saco/annotations.json
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='Stage 1/3 config: its teacher')
    p.add_argument('text_config', help='text-distillation config')
    p.add_argument('text_checkpoint', help='its checkpoint (strict)')
    p.add_argument('--ann', default='data/samples/saco/annotations.json')
    p.add_argument('--img-root', default=None, help='default: the json folder')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--max-images', type=int, default=None)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    from collections import defaultdict

    from mmengine.config import Config
    from mmengine.fileio import load

    from esam3.apis import ImagePredictor
    from esam3.models.text.concept_agreement import text_concept_agreement
    from esam3.registry import METRICS, MODELS
    args = parse_args(argv)
    pred = ImagePredictor.from_config(args.config, use_teacher=True)
    text_cfg = Config.fromfile(args.text_config).model.student
    text_cfg.pretrained = args.text_checkpoint
    text = MODELS.build(text_cfg).eval()
    data = load(args.ann)
    root = args.img_root or osp.dirname(args.ann)
    phrases = defaultdict(list)
    for img in data['images']:
        phrases[img['file_name']].append(img['text_input'])
    metric = METRICS.build(
        dict(type='ScoreCalibrationMetric', prefix='agreement'))
    for n, (name, texts) in enumerate(sorted(phrases.items())):
        if args.max_images is not None and n >= args.max_images:
            break
        pred.set_image(osp.join(root, name))
        metric.process(
            None,
            text_concept_agreement(pred.model.heads, pred._trunk, texts,
                                   pred.tokenizer, text, args.score_thr))
    res = metric.compute_metrics(metric.results)
    print(' '.join(f'{k}: {v:.4f}' for k, v in res.items()))
    return res


if __name__ == '__main__':
    main()
    sys.exit(0)
