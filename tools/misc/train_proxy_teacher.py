# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Train the quick start's proxy teacher: the tiny SAM3 architecture
(configs/_base_/models/sam3_tiny.py + sam3_video_tiny.py, one shared ViT trunk)
fine-tuned on the bundled samples with :class:`Sam3FineTuner`, so that every
stage of the quick start distils from a teacher that really segments its data.

Data (all bundled, data/samples):
  * geometric prompts: the three images of the COCO-format sample (the
    images the Stage 1 quick start evaluates on); ``--with-sa1b`` adds the
    SA-1B-format images except the teacher's held-out ones
    (``sa1b/unseen_by_proxy_teacher.txt``, scored by
    ``configs/proxy_teacher/stage1_heldout.py``);
  * concept prompts: the 11 SA-Co image-phrase pairs (no held-out split:
    they are all the concept data there is);
  * tracking: the SA-V-format clip (the same "carphone" video the Stage 2
    quick start evaluates on, in DAVIS layout: not held out).
So the teacher's quick-start numbers are measured on data it was fitted
to: a proxy for distillation fidelity, not a benchmark. The shipped
weights come from a chain of runs of this script
(``tools/misc/make_proxy_teacher.sh``).

Deterministic: fixed seeds, one thread (``torch.set_num_threads(1)``),
data order from seeded generators; the same command gives the same weights
on the same software stack. Writes ``OUT/{detector,tracker,tracker_video}``
(transformers ``save_pretrained``), usable as ``pretrained=`` of the tiny
configs.

Usage::

    python tools/misc/train_proxy_teacher.py OUT [--init FOLDER] ...
"""
import argparse
import itertools
import json
import os.path as osp
import random
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATASETS = osp.join(ROOT, 'configs', '_base_', 'datasets')
MODELS_DIR = osp.join(ROOT, 'configs', '_base_', 'models')


def build_finetuner(focal_weight: float,
                    box_prob: float,
                    num_refine: int,
                    init: str = None,
                    cls_loss: str = 'focal',
                    frozen: tuple = (),
                    num_queries: int = None):
    """The fine-tuner around a tiny SAM3 with the tiny video tracker."""
    from esam3.models.losses.mmdet_loss_cfgs import mmdet_focal_loss
    from esam3.registry import MODELS
    student = dict(type='Sam3Trainable', frozen=frozen)
    if init is None:
        tiny = Config.fromfile(osp.join(MODELS_DIR, 'sam3_tiny.py'))
        video = Config.fromfile(osp.join(MODELS_DIR, 'sam3_video_tiny.py'))
        config = tiny.sam3_cfg.config.to_dict()
        if num_queries is not None:
            config['detr_decoder_config']['num_queries'] = num_queries
        student.update(
            config=config,
            video=dict(config=video.video_tracker_cfg.config.to_dict()))
    else:
        student.update(pretrained=init, video=True)
    return MODELS.build(
        dict(
            type='Sam3FineTuner',
            data_preprocessor=dict(
                type='Sam3DataPreprocessor',
                mean=[127.5] * 3,
                std=[127.5] * 3,
                bgr_to_rgb=True),
            student=student,
            max_instances=16,
            box_prob=box_prob,
            num_refine=num_refine,
            loss_cls=cls_loss_cfg(cls_loss),
            loss_prompt_focal=mmdet_focal_loss(focal_weight),
            loss_mask_focal=mmdet_focal_loss(focal_weight),
            loss_track_focal=mmdet_focal_loss(focal_weight),
            max_track_objects=4))


def cls_loss_cfg(kind: str) -> dict:
    """The concept-query classification loss: SAM3's sigmoid focal loss
    (``'focal'``) or plain binary cross-entropy (``'bce'``: focal with
    ``gamma=0``, ``alpha=0.5``, weight 4 = 2 x BCE).

    With focal loss a matched query's loss almost vanishes once its score
    passes ~0.6, so after minutes of training the teacher's scores
    (query x presence) stayed at 0.3-0.45, under SAM3's 0.5 threshold,
    although presence and matching were right; BCE keeps pushing them up.
    """
    from esam3.models.losses.mmdet_loss_cfgs import mmdet_focal_loss
    if kind == 'focal':
        return mmdet_focal_loss(2.0)
    if kind == 'bce':
        return dict(mmdet_focal_loss(4.0), gamma=0.0, alpha=0.5)
    raise ValueError(f'--cls-loss must be focal or bce, got {kind!r}')


def fan_in_init(module: torch.nn.Module) -> None:
    """Re-initialise every layer with PyTorch's own fan-in scaled default.

    transformers initialises SAM3 with ``N(0, 0.02)`` weights, right for
    SAM3's 256-1024 wide layers but, in the tiny 32-wide model, a layer
    shrinks the signal ~9x and the mask loss's gradients reach the trunk at
    ~1e-6. Parameters that are not a layer's weights (SAM's zero-initialised
    memory embeddings, the random-Fourier positional buffers) keep their
    values. Measured: 200 box-prompt steps on one batch end at Dice 0.58
    with it, 0.69 without; a whole 2400-iteration run from scratch (with
    :func:`tie_prompt_positional_encoding`) ended at box mIoU 16.2 against
    15.2 for the shipped first step, so the shipped chain does not use it.
    """
    layers = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)
    for m in module.modules():
        if isinstance(m, layers):
            m.reset_parameters()


def tie_prompt_positional_encoding(model: torch.nn.Module,
                                   scale: float = 1.0) -> None:
    """Give each tracker's prompt encoder the random Fourier basis of its image
    positional encoding.

    SAM encodes the image grid and the prompt coordinates with one random
    Fourier matrix (one ``pe_layer`` in the original code; converted
    checkpoints hold it twice, as ``shared_image_embedding`` and
    ``prompt_encoder.shared_embedding``). A randomly initialised
    transformers model draws the two independently, so a box corner's
    encoding matches no image position and the decoder must learn the
    mapping. Measured (with :func:`fan_in_init`): 200 box-prompt steps on
    one batch end at Dice 0.37 tied against 0.58 untied.
    """
    for module in model.modules():
        image_pe = getattr(module, 'shared_image_embedding', None)
        prompt = getattr(module, 'prompt_encoder', None)
        if image_pe is not None and prompt is not None:
            with torch.no_grad():
                image_pe.positional_embedding.mul_(scale)
                prompt.shared_embedding.positional_embedding.copy_(
                    image_pe.positional_embedding)


def grow_queries(detector: torch.nn.Module, num_queries: int) -> None:
    """Give SAM3's DETR decoder ``num_queries`` learned queries, keeping the
    trained ones.

    Each DETR query (a content embedding and a learned reference box) yields
    at most one instance, so a detector with 20 queries cannot find the 24
    coins of the bundled ``coins.jpg``. The first rows keep their trained
    values; the new rows get transformers' own initialisation of the model
    (``_init_weights``: ``N(0, initializer_range)``), as a fresh model with
    that many queries would. The config is updated, so ``save_pretrained``
    writes a folder that loads with the new count.

    Raises:
        ValueError: if ``num_queries`` is smaller than the current count
            (dropping trained queries is not growing).
    """
    decoder = detector.detr_decoder
    old = decoder.query_embed.num_embeddings
    if num_queries < old:
        raise ValueError(f'--num-queries {num_queries} is smaller than the '
                         f'{old} queries of the --init model')
    if num_queries == old:
        return
    for name in ('query_embed', 'reference_points'):
        trained = getattr(decoder, name)
        grown = torch.nn.Embedding(num_queries, trained.embedding_dim)
        detector._init_weights(grown)
        with torch.no_grad():
            grown.weight[:old] = trained.weight
        grown.weight.requires_grad_(trained.weight.requires_grad)
        setattr(decoder, name, grown)
    decoder.config.num_queries = num_queries
    detector.config.detr_decoder_config.num_queries = num_queries


def fit_list(sa1b_root: str) -> str:
    """A split list of the SA-1B-format images to fit: all bundled ones
    (``train.txt`` + ``val.txt``) but those of
    ``unseen_by_proxy_teacher.txt``, the teacher's held-out images
    (``configs/proxy_teacher/stage1_heldout.py``). Written to a temporary
    file, whose path is returned."""
    import tempfile

    def stems(name):
        with open(osp.join(sa1b_root, name)) as f:
            return [line.strip() for line in f if line.strip()]

    held_out = set(stems('unseen_by_proxy_teacher.txt'))
    keep = [
        s for s in stems('train.txt') + stems('val.txt') if s not in held_out
    ]
    with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
        f.write('\n'.join(keep) + '\n')
    return f.name


def build_sources(with_sa1b: bool):
    """``{name: dataset}`` of the three training sources."""
    from esam3.registry import DATASETS as REG
    sa1b = Config.fromfile(osp.join(DATASETS, 'sa1b_tiny.py'))
    saco = Config.fromfile(osp.join(DATASETS, 'saco_tiny.py'))
    sav = Config.fromfile(osp.join(DATASETS, 'sav_tiny.py'))
    out = {}
    # geometric prompts: whole images at the teacher's input size (the
    # evaluation's view), only flipped; the tiny model does not learn box ->
    # mask from random crops of a few images in minutes
    test = list(sa1b.test_pipeline)
    flip = test[:-2] + [dict(type='mmdet.RandomFlip', prob=0.5)] + test[-2:]
    coco = sa1b.val_dataloader.dataset.copy()
    coco.data_root = osp.join(ROOT, coco.data_root)
    coco.test_mode = False
    coco.pipeline = flip
    out['prompt'] = REG.build(coco)
    if with_sa1b:
        prompt = sa1b.train_dataloader.dataset.copy()
        prompt.data_root = osp.join(ROOT, prompt.data_root)
        prompt.ann_file = fit_list(prompt.data_root)
        prompt.pipeline = flip
        from mmengine.dataset import ConcatDataset
        out['prompt'] = ConcatDataset(
            [out['prompt'], REG.build(prompt)],
            ignore_keys=['classes', 'palette'])
    concept = saco.train_dataloader.dataset.copy()
    concept.data_root = osp.join(ROOT, concept.data_root)
    concept.confusable_phrases = osp.join(concept.data_root,
                                          concept.confusable_phrases)
    out['concept'] = REG.build(concept)
    track = sav.train_dataloader.dataset.copy()
    track.data_root = osp.join(ROOT, track.data_root)
    out['track'] = REG.build(track)
    return out


def instance_weights(dataset) -> torch.Tensor:
    """Sampling weight ``1 + number of GT instances`` of each sample.

    Uniform sampling shows the 24 coins of ``coins.jpg`` in 1 of 11 concept
    pairs, and the detector then never separates them: its masks each
    cover a row of coins (best IoU 0.44 after 4,000 concept steps). Trained
    on that pair alone, the same model reaches IoU 0.74-0.92 on every coin
    in 1,500 steps, but forgets the other pairs. Weighting by instances
    (every GT instance about equally often, the ``+ 1`` keeping negative
    pairs in the mix) sits in between.
    """
    return torch.tensor([
        1.0 + len(dataset.get_data_info(i)['instances'])
        for i in range(len(dataset))
    ])


def batches(dataset,
            batch_size: int,
            gen: torch.Generator,
            weights: torch.Tensor = None):
    """Endless seeded shuffles of ``dataset`` in batches (``weights``: draw
    each epoch's samples with replacement, with these probabilities)."""
    while True:
        if weights is None:
            order = torch.randperm(len(dataset), generator=gen).tolist()
        else:
            order = torch.multinomial(
                weights, len(dataset), replacement=True,
                generator=gen).tolist()
        for i in range(0, len(order) - batch_size + 1, batch_size):
            yield pseudo_collate([dataset[j] for j in order[i:i + batch_size]])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='output folder (SAM3 layout)')
    parser.add_argument('--iters', type=int, default=2400)
    parser.add_argument('--lr', type=float, default=3e-3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--box-prob', type=float, default=0.7)
    parser.add_argument('--num-refine', type=int, default=1)
    parser.add_argument(
        '--init',
        help='start from this SAM3 folder (an earlier output) instead of '
        'the random tiny SAM3')
    parser.add_argument(
        '--focal-weight',
        type=float,
        default=1.0,
        help='weight of the focal mask losses (SAM: 20; the tiny model '
        'collapses to empty masks with it)')
    parser.add_argument(
        '--schedule',
        default='prompt,concept,prompt,concept,track',
        help='sources in the order they take turns')
    parser.add_argument(
        '--with-sa1b',
        action='store_true',
        help='also train geometric prompts on the SA-1B-format images '
        '(all but sa1b/unseen_by_proxy_teacher.txt)')
    parser.add_argument(
        '--cls-loss',
        default='focal',
        choices=('focal', 'bce'),
        help='concept-query classification loss (see cls_loss_cfg)')
    parser.add_argument(
        '--frozen',
        nargs='*',
        default=[],
        help='parameter prefixes of Sam3Trainable to freeze, e.g. trunk '
        'heads.tracker video: train the concept heads alone without '
        'changing the geometric-prompt and tracking paths')
    parser.add_argument(
        '--fan-in-init',
        action='store_true',
        help='fresh model: PyTorch\'s fan-in scaled layer initialisation '
        'instead of transformers\' N(0, 0.02) (see fan_in_init)')
    parser.add_argument(
        '--tie-pe',
        action='store_true',
        help='fresh model: one random Fourier basis for the image and the '
        'prompt positional encodings, as in SAM (see '
        'tie_prompt_positional_encoding)')
    parser.add_argument(
        '--pe-scale',
        type=float,
        default=1.0,
        help='with --tie-pe: multiply the random Fourier basis '
        '(frequencies) by this')
    parser.add_argument(
        '--concept-sampling',
        default='uniform',
        choices=('uniform', 'instances'),
        help='concept pairs drawn uniformly or in proportion to 1 + their '
        'number of instances (see instance_weights)')
    parser.add_argument(
        '--num-queries',
        type=int,
        help='DETR queries of the concept detector: a fresh model has this '
        'many (default: configs/_base_/models/sam3_tiny.py); an --init model '
        'grows to this many, keeping its trained ones (see grow_queries)')
    args = parser.parse_args(argv)

    from esam3.utils import register_all_modules
    register_all_modules()
    torch.set_num_threads(1)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    model = build_finetuner(args.focal_weight, args.box_prob, args.num_refine,
                            args.init, args.cls_loss, tuple(args.frozen),
                            args.num_queries)
    if args.num_queries is not None and args.init is not None:
        grow_queries(model.student.heads.detector, args.num_queries)
    if args.init is None and args.fan_in_init:
        fan_in_init(model.student)
    if args.init is None and args.tie_pe:
        tie_prompt_positional_encoding(model.student, args.pe_scale)
    model.train()
    sources = build_sources(args.with_sa1b)
    gen = torch.Generator().manual_seed(args.seed)
    streams = {
        'prompt': batches(sources['prompt'], 2, gen),
        'concept': batches(
            sources['concept'], 2, gen,
            instance_weights(sources['concept'])
            if args.concept_sampling == 'instances' else None),
        'track': batches(sources['track'], 1, gen),
    }
    order = itertools.cycle(args.schedule.split(','))
    params = [p for p in model.parameters() if p.requires_grad]
    # no gradient clipping and a small eps: the tiny model's decoder
    # gradients are ~1e-7, which a global clip (or Adam's default eps) turns
    # into no update at all
    optim = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01, eps=1e-12)
    warmup = max(1, args.iters // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda i: min(1.0, (i + 1) / warmup) * 0.5 *
        (1 + np.cos(np.pi * min(i, args.iters) / args.iters)) + 0.01)
    start = time.time()
    log = []
    for it in range(args.iters):
        name = next(order)
        data = model.data_preprocessor(next(streams[name]), training=True)
        losses = model(**data, mode='loss')
        loss = sum(v for v in losses.values())
        optim.zero_grad()
        loss.backward()
        optim.step()
        sched.step()
        if it % 25 == 0 or it == args.iters - 1:
            row = dict(
                iter=it,
                source=name,
                loss=round(float(loss.detach()), 4),
                parts={
                    k: round(float(v.detach()), 3)
                    for k, v in losses.items()
                },
                secs=round(time.time() - start, 1))
            log.append(row)
            print(json.dumps(row), flush=True)
    model.eval()
    written = model.student.save_pretrained(args.out)
    with open(osp.join(args.out, 'train_log.json'), 'w') as f:
        json.dump(dict(args=vars(args), log=log), f, indent=1)
    print(f'proxy teacher written to {written} in '
          f'{time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
