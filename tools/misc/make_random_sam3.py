# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Write a randomly initialised, real-size SAM3 as a local weights folder.

SAM3 weights are gated and cannot be downloaded here. This folder stands in
for them wherever a config takes ``pretrained=`` (``model.teacher``,
``model.student.sam3``, ``model.student.sam3_video``), so the commands of
the README's "Train on real data" / "Evaluate" sections can be run end to
end (tests, memory measurements, GPU throughput runs). The metrics of such a
run mean nothing; everything else (shapes, memory, speed, data flow) is the
real one.

Layout (each a ``save_pretrained`` folder, loaded by
:func:`esam3.models.heads.sam3_heads.build_sam3_models` and
:func:`esam3.models.teachers.sam3_video_teacher.build_sam3_video_tracker`)::

    OUT/detector/        Sam3Model (840M parameters)
    OUT/tracker/         Sam3TrackerModel, vision config = the detector's
    OUT/tracker_video/   Sam3TrackerVideoModel

Usage::

    python tools/misc/make_random_sam3.py /tmp/sam3_random [--parts ...]

About 7 GB on disk (fp32) and a minute or two on a 2-core CPU.
"""
import argparse
import os.path as osp
from typing import Optional, Sequence

PARTS = ('detector', 'tracker', 'tracker_video')


def make_random_sam3(out: str,
                     parts: Sequence[str] = PARTS,
                     config: Optional[dict] = None,
                     video_config: Optional[dict] = None) -> str:
    """Build random SAM3 models and ``save_pretrained`` them under ``out``.

    Args:
        out (str): Output folder.
        parts (Sequence[str]): Which of ``detector``, ``tracker``,
            ``tracker_video`` to write. Defaults to all.
        config (dict, optional): ``Sam3Config`` kwargs (plus an optional
            ``tracker_config``) for the image models; ``None`` = the real
            SAM3 sizes (transformers' defaults).
        video_config (dict, optional): ``Sam3TrackerVideoConfig`` kwargs;
            ``None`` = the real sizes.

    Returns:
        str: ``out``.
    """
    from esam3.models.heads.sam3_heads import build_sam3_models
    from esam3.models.teachers.sam3_video_teacher import \
        build_sam3_video_tracker
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f'unknown parts {sorted(unknown)}; choose from '
                         f'{list(PARTS)}')
    if {'detector', 'tracker'} & set(parts):
        detector, tracker = build_sam3_models(config=dict(config or {}))
        for name, model in (('detector', detector), ('tracker', tracker)):
            if name in parts:
                model.save_pretrained(osp.join(out, name))
        del detector, tracker
    if 'tracker_video' in parts:
        video = build_sam3_video_tracker(config=dict(video_config or {}))
        video.save_pretrained(osp.join(out, 'tracker_video'))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--parts',
        nargs='+',
        default=list(PARTS),
        choices=PARTS,
        help='models to write (default: all)')
    args = parser.parse_args()
    make_random_sam3(args.out, args.parts)
    print(f'random real-size SAM3 written to {args.out} ({args.parts})')


if __name__ == '__main__':
    main()
