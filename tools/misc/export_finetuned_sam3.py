# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Write a SAM3 fine-tuned with ``configs/finetune`` as a SAM3 folder.

Builds the config's model, loads the training checkpoint strictly and
writes ``OUT/detector``, ``OUT/tracker`` (and ``OUT/tracker_video`` when the
model has a video tracker) with transformers' ``save_pretrained``: a folder
that every ``pretrained=`` of the esam3 configs accepts, e.g. as the
teacher of Stages 1-3.

Usage::

    python tools/misc/export_finetuned_sam3.py CONFIG CHECKPOINT OUT
"""
import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    args = parser.parse_args()
    from mmengine.config import Config

    from esam3.registry import MODELS
    from esam3.utils import register_all_modules
    from esam3.utils.checkpoint import load_student_checkpoint
    register_all_modules()
    cfg = Config.fromfile(args.config)
    model = MODELS.build(cfg.model)
    if not hasattr(model.student, 'save_pretrained'):
        raise TypeError(f'{args.config}: the fine-tuned model is a '
                        f'{type(model.student).__name__}, not SAM3 '
                        '(Sam3Trainable); an esam3 student is used from its '
                        'checkpoint directly')
    load_student_checkpoint(model, args.checkpoint, strict=True)
    for path in model.student.save_pretrained(args.out):
        print(f'written {path}')


if __name__ == '__main__':
    main()
