# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Any timm model as a multi-scale feature backbone (the esam3 students)."""
import logging
from typing import List, Optional, Sequence

import timm
import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from esam3.registry import MODELS
from .timm_checkpoint import load_state_dict_file, match_state_dict


@MODELS.register_module()
class TimmBackbone(BaseModule):
    """A timm model built with ``features_only=True``.

    One class serves every student (RepViT ``repvit_m0_9/m1_1/m2_3``, TinyViT
    ``tiny_vit_5m_224/11m_224/21m_224``, EfficientViT ``efficientvit_b0/b1/
    b2``) and any other timm model with a feature-extraction mode. timm never
    downloads anything (``pretrained=False`` always); ImageNet weights come
    only from a local ``checkpoint_path`` written in timm's naming (the
    classifier model's keys; the head is ignored) or in this module's own
    naming (``backbone.state_dict()``).

    Input size: the students run at any size; RepViT and EfficientViT are
    fully convolutional / linear-attention. timm 1.0.31's ``TinyVit`` takes no
    ``img_size`` argument (passing one raises ``TypeError``): its attention
    windows (7, 7, 14, 7 tokens) are fixed and each stage map is zero-padded
    up to a multiple of the window, so 224, 1008 and 1024 inputs all work with
    unchanged (ImageNet-224) weights. At 1008 px the four maps are
    252/126/63/32 (the stride-32 map rounds up).

    Args:
        model_name: timm model name, e.g. ``'repvit_m0_9'``.
        out_indices: feature levels to return; the default (0, 1, 2, 3) gives
            strides 4/8/16/32 for all nine students.
        checkpoint_path: local ``.pth`` / ``.pt`` / ``.safetensors`` file with
            ImageNet weights; dicts nested under ``'state_dict'`` or
            ``'model'`` are accepted.
        strict: raise on missing / unexpected / mis-shaped keys (listing the
            first ``max_report_keys`` of each with counts); ``False`` logs the
            same report as a warning and loads what matches.
        frozen_stages: freeze the stem and the first ``frozen_stages`` stages
            (-1: nothing, 0: stem only). Frozen parts get
            ``requires_grad=False`` and stay in eval mode (BN statistics and
            drop-path off).
        freeze: freeze the whole encoder (Stage 2 / 3).
        with_cp: gradient checkpointing per stage (saves activation memory).
        max_report_keys: how many keys of each kind a mismatch report lists.
        init_cfg: mmengine init config.
        **timm_kwargs: more keyword arguments for ``timm.create_model``
            (e.g. ``drop_path_rate``).
    """

    def __init__(self,
                 model_name: str,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 checkpoint_path: Optional[str] = None,
                 strict: bool = True,
                 frozen_stages: int = -1,
                 freeze: bool = False,
                 with_cp: bool = False,
                 max_report_keys: int = 10,
                 init_cfg: Optional[dict] = None,
                 **timm_kwargs) -> None:
        super().__init__(init_cfg=init_cfg)
        for key in ('pretrained', 'features_only'):
            if timm_kwargs.pop(key, None):
                raise ValueError(f'TimmBackbone sets {key} itself; give '
                                 'ImageNet weights as checkpoint_path')
        self.model_name = model_name
        self.timm_kwargs = timm_kwargs
        self.max_report_keys = max_report_keys
        self.timm_model = timm.create_model(
            model_name,
            pretrained=False,
            features_only=True,
            out_indices=tuple(out_indices),
            **timm_kwargs)
        if with_cp:
            self.timm_model.set_grad_checkpointing(True)
        if checkpoint_path is not None:
            self.load_checkpoint(checkpoint_path, strict=strict)
        self.frozen_stages = frozen_stages
        self.freeze = freeze
        self._frozen_names = self._names_to_freeze()
        for name in self._frozen_names:
            self.timm_model[name].requires_grad_(False)
        self._set_frozen_eval()

    @property
    def out_channels(self) -> List[int]:
        """Channels of each returned feature map."""
        return list(self.timm_model.feature_info.channels())

    @property
    def out_strides(self) -> List[int]:
        """Stride (input pixels per feature pixel) of each returned map."""
        return list(self.timm_model.feature_info.reduction())

    def forward(self, x: Tensor) -> List[Tensor]:
        """Run the encoder.

        Args:
            x: images ``[B, 3, H, W]``.

        Returns:
            list[Tensor]: one ``[B, C_i, H / s_i, W / s_i]`` map per output
            index (sizes rounded up).
        """
        return list(self.timm_model(x))

    def train(self, mode: bool = True) -> 'TimmBackbone':
        """Set train mode, keeping the frozen parts in eval mode."""
        super().train(mode)
        self._set_frozen_eval()
        return self

    def load_checkpoint(self, path: str, strict: bool = True) -> None:
        """Load a local checkpoint into the feature model.

        Args:
            path: ``.pth`` / ``.pt`` / ``.safetensors`` file.
            strict: raise ``RuntimeError`` on any mismatch instead of
                logging it as a warning.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            RuntimeError: ``strict`` and the keys or shapes do not match.
        """
        ckpt = load_state_dict_file(path)
        model_state = self.timm_model.state_dict()
        buffers = [
            n for n, _ in self.timm_model.named_buffers()
            if n not in model_state
        ]
        weights, report = match_state_dict(
            ckpt,
            model_state,
            dropped_keys=self._classifier_keys(),
            ignored_buffers=buffers)
        if not report.ok:
            message = report.format(path, self.max_report_keys)
            if strict:
                raise RuntimeError(message + '\n(pass strict=False to load '
                                   'the matching tensors anyway)')
            print_log(message, logger='current', level=logging.WARNING)
        self.timm_model.load_state_dict(weights, strict=False)
        print_log(
            f'TimmBackbone({self.model_name}): loaded {len(weights)} tensors '
            f'from {path} ({len(report.ignored)} classifier/buffer keys '
            'ignored)',
            logger='current',
            level=logging.INFO)

    def _classifier_keys(self) -> List[str]:
        """Keys of the full classifier model (built on the meta device)."""
        with torch.device('meta'):
            full = timm.create_model(
                self.model_name, pretrained=False, **self.timm_kwargs)
        return list(full.state_dict().keys())

    def _names_to_freeze(self) -> List[str]:
        names = list(self.timm_model.keys())
        if self.freeze:
            return names
        if self.frozen_stages < 0:
            return []
        stages = [
            fi['module'].replace('.', '_')
            for fi in self.timm_model.feature_info.info
        ]
        if self.frozen_stages > len(stages):
            raise ValueError(f'frozen_stages={self.frozen_stages} but '
                             f'{self.model_name} has {len(stages)} stages')
        if self.frozen_stages == 0:
            end = names.index(stages[0]) if stages[0] in names else 0
        else:
            last = stages[self.frozen_stages - 1]
            if last not in names:
                raise ValueError(f'stage {last} is not part of the feature '
                                 f'model ({names}); raise out_indices')
            end = names.index(last) + 1
        return names[:end]

    def _set_frozen_eval(self) -> None:
        if self.freeze:
            self.timm_model.eval()
        for name in self._frozen_names:
            self.timm_model[name].eval()
