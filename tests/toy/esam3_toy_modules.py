# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Tiny modules registered into esam3's registries for the tool tests.

Everything here runs in milliseconds on a CPU: a linear "student" distilled
from a frozen linear "teacher" that is kept out of ``state_dict()`` (the same
trick the real distillers use), a synthetic dataset, a metric and a hook that
writes one JSON marker per rank so tests can check what each process did.

The module is imported through ``custom_imports`` in ``toy_config.py``; the
tests put ``tests/toy`` on ``PYTHONPATH`` (the name ``tests`` is taken by an
unrelated site-packages package, so ``tests.toy`` is not importable).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.dist import get_rank, get_world_size
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import nn
from torch.utils.data import Dataset

from esam3.registry import DATASETS, HOOKS, METRICS, MODELS


@MODELS.register_module()
class ToyDistiller(BaseModel):
    """Linear student regressing a frozen linear teacher plus a target.

    Args:
        in_dim: input feature size.
        out_dim: output size.
        data_preprocessor: mmengine data preprocessor config.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_dim: int = 4,
                 out_dim: int = 2,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = nn.Linear(in_dim, out_dim)
        gen = torch.Generator().manual_seed(1234)
        teacher = nn.Linear(in_dim, out_dim)
        with torch.no_grad():
            teacher.weight.copy_(torch.randn(out_dim, in_dim, generator=gen))
            teacher.bias.copy_(torch.randn(out_dim, generator=gen))
        teacher.requires_grad_(False)
        teacher.eval()
        # Not a sub-module: invisible to state_dict(), parameters() and DDP.
        object.__setattr__(self, 'teacher', teacher)

    def _apply(self, fn, *args, **kwargs):
        """Move the hidden teacher together with the student."""
        super()._apply(fn, *args, **kwargs)
        self.teacher._apply(fn, *args, **kwargs)
        return self

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[dict] = None,
                mode: str = 'tensor'):
        """Mmengine entry point (``loss`` / ``predict`` / ``tensor``)."""
        pred = self.student(inputs)
        if mode == 'tensor':
            return pred
        with torch.no_grad():
            soft = self.teacher(inputs)
        target = data_samples['target']
        if mode == 'loss':
            return dict(
                loss_distill=F.mse_loss(pred, soft),
                loss_task=0.1 * F.mse_loss(pred, target))
        if mode == 'predict':
            return [
                BaseDataElement(pred=p, target=t, index=i)
                for p, t, i in zip(pred, target, data_samples['index'])
            ]
        raise RuntimeError(f'Invalid mode "{mode}"')


@DATASETS.register_module()
class ToyDataset(Dataset):
    """Deterministic synthetic regression data.

    Args:
        num_samples: dataset length.
        in_dim: input size.
        out_dim: target size.
        data_root: optional folder that must exist (mimics real datasets).
    """

    METAINFO = dict(name='toy')

    def __init__(self,
                 num_samples: int = 32,
                 in_dim: int = 4,
                 out_dim: int = 2,
                 data_root: Optional[str] = None) -> None:
        if data_root is not None and not osp.isdir(data_root):
            raise FileNotFoundError(f'ToyDataset data_root not found: '
                                    f'{data_root}')
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(num_samples, in_dim, generator=gen)
        self.y = torch.randn(num_samples, out_dim, generator=gen)
        self.metainfo = dict(self.METAINFO)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int) -> dict:
        return dict(
            inputs=self.x[idx],
            data_samples=dict(target=self.y[idx], index=idx))


@METRICS.register_module()
class ToyMSEMetric(BaseMetric):
    """Mean squared error between ``pred`` and ``target``."""

    default_prefix = 'toy'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store the per-sample squared error."""
        for sample in data_samples:
            err = (sample['pred'] - sample['target']).pow(2).mean()
            self.results.append(float(err))

    def compute_metrics(self, results: List[float]) -> Dict[str, float]:
        """Average the stored errors."""
        return dict(
            mse=sum(results) / max(len(results), 1), num_samples=len(results))


@HOOKS.register_module()
class ToyRankMarkerHook(Hook):
    """Writes ``<work_dir>/rank<r>.json`` after training.

    The marker records the world size, the iterations this rank ran, the
    dataset indices it saw, how many checkpoints it saved and a checksum of the
    student weights (equal on every rank when DDP synchronises).
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.iters_run = 0
        self.indices: List[int] = []
        self.saved = 0

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        """Count iterations and remember the sample indices."""
        self.iters_run += 1
        self.indices += [int(i) for i in data_batch['data_samples']['index']]

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Count checkpoints saved by this rank (mmengine: rank 0 only)."""
        self.saved += 1

    def after_train(self, runner) -> None:
        """Write the marker file."""
        model = runner.model
        model = getattr(model, 'module', model)
        checksum = float(
            sum(p.detach().double().sum() for p in model.parameters()))
        marker = dict(
            rank=get_rank(),
            world_size=get_world_size(),
            iter=runner.iter,
            iters_run=self.iters_run,
            indices=self.indices,
            checkpoints_saved=self.saved,
            param_checksum=checksum,
            pid=os.getpid())
        with open(osp.join(runner.work_dir, f'rank{get_rank()}.json'),
                  'w') as f:
            json.dump(marker, f)
