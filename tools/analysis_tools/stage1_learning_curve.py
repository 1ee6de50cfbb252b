# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Does Stage 1 learn? Train a Stage 1 config and track, on held-out images,
the student-vs-teacher mask fidelity (mIoU for the same box and point prompts)
and the masked feature MSE (trunk map in trunk mode, mean over the neck levels
with the light neck).

Example (bundled images, tiny random teacher, CPU):
    python tools/analysis_tools/stage1_learning_curve.py \
        configs/stage1/tiny.py \
        --iters 300 --eval-every 50 --out docs/stage1_learning_curve
writes ``<out>.json`` and ``<out>.png``.
"""
import argparse
import json
import os.path as osp
import time

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from esam3.evaluation.functional import mask_iou
from esam3.registry import DATASETS, MODELS, OPTIMIZERS


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--eval-every', type=int, default=50)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument(
        '--val-split',
        default='val.txt',
        help='held-out split file of the training dataset '
        '(images never seen in training), read with the test '
        "pipeline; 'config' uses the config's val dataloader; "
        "'train' re-reads the training images with the test "
        'pipeline (measures fitting, not generalisation)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', default='stage1_learning_curve')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args()


@torch.no_grad()
def evaluate(model, val_batches) -> dict:
    """Fidelity mIoU per prompt mode and feature MSE on held-out images."""
    model.eval()
    ious = {'box': [], 'point': []}
    mse = []
    for batch in val_batches:
        data = model.data_preprocessor(batch, False)
        x, samples = data['inputs'], data['data_samples']
        # masked feature MSE: of the trunk map (trunk mode), or the mean
        # over the neck levels (light neck; per-level weights of the config)
        feat = model.feature_losses(
            model.extract_feat(x), model.teacher_trunk(x, samples), samples,
            x.shape[-2:])
        mse.append(float(np.mean([float(v) for v in feat.values()])))
        for ds in model.predict(x, samples):
            for mode in ious:
                a = ds.prompt_masks[mode].numpy()
                b = ds.teacher_prompt_masks[mode].numpy()
                ious[mode] += [mask_iou(ai, bi) for ai, bi in zip(a, b)]
    model.train()
    out = {f'fidelity_{k}': float(np.mean(v)) for k, v in ious.items()}
    out['feat_mse'] = float(np.mean(mse))
    return out


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'esam3'))
    model = MODELS.build(cfg.model)
    model.eval_clicks = 0  # the curve tracks single-prompt fidelity
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    if args.val_split == 'config':
        val_set = DATASETS.build(cfg.val_dataloader.dataset)
    elif args.val_split == 'train':
        val_set = DATASETS.build(
            dict(
                cfg.train_dataloader.dataset,
                test_mode=True,
                pipeline=cfg.test_pipeline))
    else:
        val_set = DATASETS.build(
            dict(
                cfg.train_dataloader.dataset,
                ann_file=args.val_split,
                test_mode=True,
                pipeline=cfg.test_pipeline))
    held_out, seen = ({
        osp.basename(d.get_data_info(i)['img_path'])
        for i in range(len(d))
    } for d in (val_set, train_set))
    if held_out & seen and args.val_split != 'train':
        raise ValueError(f'validation images also in training: '
                         f'{sorted(held_out & seen)}')
    val_batches = [pseudo_collate([val_set[i]]) for i in range(len(val_set))]
    params = [p for p in model.parameters() if p.requires_grad]
    optim = OPTIMIZERS.build(
        dict(type='AdamW', params=params, lr=args.lr, weight_decay=0.05))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        optim, T_max=args.iters, eta_min=args.lr * 0.01)
    bs = cfg.train_dataloader.batch_size
    rng = np.random.RandomState(args.seed)
    curve = [dict(iter=0, **evaluate(model, val_batches))]
    print(curve[-1])
    t0 = time.time()
    model.train()
    for it in range(1, args.iters + 1):
        idx = rng.randint(0, len(train_set), bs)
        batch = pseudo_collate([train_set[int(i)] for i in idx])
        data = model.data_preprocessor(batch, True)
        losses = model.loss(data['inputs'], data['data_samples'])
        optim.zero_grad()
        sum(losses.values()).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        sched.step()
        if it % args.eval_every == 0 or it == args.iters:
            curve.append(dict(iter=it, **evaluate(model, val_batches)))
            print(curve[-1], f'{time.time() - t0:.0f}s')
    first, last = curve[0], curve[-1]
    summary = dict(
        config=args.config,
        iters=args.iters,
        lr=args.lr,
        eval_on=args.val_split,
        train_images=sorted(seen),
        val_images=sorted(held_out),
        seconds=time.time() - t0,
        curve=curve,
        fidelity_box_final=last['fidelity_box'],
        fidelity_point_final=last['fidelity_point'],
        feat_mse_reduction=first['feat_mse'] / max(last['feat_mse'], 1e-12))
    with open(args.out + '.json', 'w') as f:
        json.dump(summary, f, indent=1)
    plot(curve, args.out + '.png',
         'training images' if args.val_split == 'train' else 'held-out')
    print(
        json.dumps({
            k: v
            for k, v in summary.items() if k != 'curve'
        },
                   indent=1))


def plot(curve, path, split='held-out'):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    its = [c['iter'] for c in curve]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(its, [c['fidelity_box'] for c in curve], 'o-', label='box')
    ax[0].plot(its, [c['fidelity_point'] for c in curve], 's-', label='point')
    ax[0].axhline(0.8, ls='--', c='gray', lw=1)
    ax[0].set(
        xlabel='iteration',
        ylabel='student vs teacher mIoU',
        title=f'mask fidelity ({split})',
        ylim=(0, 1))
    ax[0].legend()
    ax[1].semilogy(its, [c['feat_mse'] for c in curve], 'o-')
    ax[1].set(
        xlabel='iteration',
        ylabel='masked feature MSE',
        title=f'feature distillation loss ({split})')
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == '__main__':
    main()
