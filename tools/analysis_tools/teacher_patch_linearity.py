# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""How much of a teacher's trunk features is a linear function of each input
patch?

Draws training crops of a Stage 1 config, computes the teacher trunk map
and fits (least squares, 80/20 split of the valid tokens) one affine map
from the flattened ``patch x patch`` pixels of each token to its feature.
Prints the held-out residual next to the feature energy and variance.
A random ViT teacher is close to its patch embedding (residual ~10 % of
the energy for configs/_base_/models/sam3_tiny.py); a student whose maps
are at strides 8/16/32 cannot follow a 14-px token phase, which is why
the tiny students use ``Sam3AlignHead(patch_size=14)``.

Example:
    python tools/analysis_tools/teacher_patch_linearity.py \
        configs/stage1/tiny.py --num-crops 200
"""
import argparse

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from esam3.registry import DATASETS, MODELS


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--num-crops', type=int, default=200)
    p.add_argument('--patch', type=int, default=14)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    cfg = Config.fromfile(args.config, format_python_code=False)
    init_default_scope(cfg.get('default_scope', 'esam3'))
    model = MODELS.build(cfg.model)
    data = DATASETS.build(cfg.train_dataloader.dataset)
    xs, ys = [], []
    with torch.no_grad():
        for k in range(args.num_crops):
            batch = model.data_preprocessor(
                pseudo_collate([data[k % len(data)]]), False)
            x, samples = batch['inputs'], batch['data_samples']
            t = model.teacher_trunk(x, samples)
            valid = model.valid_token_mask(samples, t.shape[-2:], x.shape[-2:],
                                           x.device)
            valid = valid[0, 0].flatten() > 0
            patches = F.unfold(x, args.patch, stride=args.patch)[0].T
            xs.append(patches[valid])
            ys.append(t[0].flatten(1).T[valid])
    x, y = torch.cat(xs), torch.cat(ys)
    n = len(x)
    split = int(0.8 * n)
    xa = torch.cat([x, torch.ones(n, 1)], 1)
    w = torch.linalg.lstsq(xa[:split], y[:split]).solution
    res = float(((xa[split:] @ w - y[split:])**2).mean())
    energy = float((y[split:]**2).mean())
    var = float(((y[split:] - y[:split].mean(0))**2).mean())
    print(f'tokens {n} (held out {n - split}); feature energy {energy:.4f}, '
          f'variance {var:.4f}; linear-in-patch residual {res:.4f} '
          f'({100 * res / energy:.1f} % of the energy, '
          f'{100 * res / var:.1f} % of the variance)')


if __name__ == '__main__':
    main()
