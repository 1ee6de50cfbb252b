# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Evaluate a SAM3 folder as the teacher of every stage, with the metrics and
data the students are evaluated on.

For each stage config (default: ``configs/proxy_teacher/stage{1,2,3}.py``)
the teacher is set to ``pretrained=FOLDER`` and mmengine's ``Runner.test``
runs with the distiller's teacher prediction path: Stage 1 scores the
teacher's box / point masks against the GT (``teacher/mIoU/*``), Stages 2
and 3 predict with the teacher (``model.predict_with='teacher'``: J&F on
the bundled clip, cgF1 on the SA-Co pairs). Metrics go to
``WORK_DIR/stage{1,2,3}_teacher/<timestamp>/<timestamp>.json`` (what
``tools/misc/quick_start_summary.py`` reads) and are printed.

Usage::

    python tools/misc/eval_teacher.py data/proxy_teacher --work-dir WORK
"""
import argparse
import json
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGES = ('stage1', 'stage2', 'stage3')


def teacher_cfg(config: str, folder: str, work_dir: str):
    """The stage config with ``FOLDER`` as teacher, predicting with it."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    teacher = cfg.model.teacher
    cfg.model.teacher = dict(type=teacher.type, pretrained=folder)
    if cfg.model.get('video_teacher') is not None:  # Stage 1, tiny models
        cfg.model.video_teacher = dict(
            type=cfg.model.video_teacher.type, pretrained=folder)
    if cfg.model.type != 'Stage1Distiller':  # Stage 1 scores both already
        cfg.model.predict_with = 'teacher'
    cfg.work_dir = work_dir
    cfg.load_from = None
    cfg.default_hooks.pop('visualization', None)
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('folder', help='SAM3 folder (save_pretrained layout)')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument(
        '--configs',
        nargs='+',
        default=[
            osp.join(ROOT, 'configs', 'proxy_teacher', f'{s}.py')
            for s in STAGES
        ],
        help='stage configs (default: configs/proxy_teacher/stage*.py)')
    args = parser.parse_args()
    from mmengine.runner import Runner

    from esam3.utils import register_all_modules
    register_all_modules()
    results = {}
    for config in args.configs:
        stage = osp.splitext(osp.basename(config))[0]
        cfg = teacher_cfg(config, args.folder,
                          osp.join(args.work_dir, f'{stage}_teacher'))
        results[stage] = Runner.from_cfg(cfg).test()
    print(json.dumps(results, indent=1, default=float))


if __name__ == '__main__':
    main()
