# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""A light text encoder for SAM3's concept heads (MobileCLIP-style)."""
import json
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor, nn
from transformers import Sam3LiteTextTextConfig, Sam3LiteTextTextModel
from transformers.modeling_outputs import BaseModelOutputWithPooling

from esam3.registry import MODELS
from esam3.utils.checkpoint import (extract_state_dict, load_checkpoint_file,
                                    load_state_dict_checked, strip_prefix)
from .text_identity import text_encoder_identity

__all__ = ['Sam3LiteTextStudent', 'read_hf_folder_state']

#: model types of the save_pretrained folders this student loads
FULL_MODEL_TYPE = 'sam3_lite_text'
TEXT_MODEL_TYPE = 'sam3_lite_text_text_model'
#: the projection file save_pretrained() writes next to the text model
PROJECTION_FILE = 'text_projection.safetensors'


def read_hf_folder_state(path: str) -> Dict[str, Tensor]:
    """All tensors of a ``save_pretrained`` folder (safetensors, sharded or
    not, or ``pytorch_model.bin``)."""
    index = osp.join(path, 'model.safetensors.index.json')
    single = osp.join(path, 'model.safetensors')
    if osp.isfile(index) or osp.isfile(single):
        from safetensors.torch import load_file
        files = [single]
        if osp.isfile(index):
            with open(index) as f:
                files = sorted({
                    osp.join(path, v)
                    for v in json.load(f)['weight_map'].values()
                })
        state = {}
        for file in files:
            state.update(load_file(file))
        return state
    binary = osp.join(path, 'pytorch_model.bin')
    if osp.isfile(binary):
        return torch.load(binary, map_location='cpu', weights_only=True)
    raise FileNotFoundError(f'{path}: no model.safetensors(.index.json) or '
                            'pytorch_model.bin (expected a save_pretrained '
                            'folder)')


@MODELS.register_module()
class Sam3LiteTextStudent(BaseModule):
    """Text student for SAM3: transformers' ``Sam3LiteTextTextModel``
    (MobileCLIP text transformer with RepMixer blocks) + the projection to
    the DETR width that SAM3 applies to every token.

    The attribute names are those of ``Sam3LiteTextModel``
    (``text_encoder``, ``text_projection``), so the student's weights are
    the text part of a ``Sam3LiteTextModel`` state dict and it can stand in
    for the text encoder + projection of a ``Sam3Model``: what the DETR
    encoder, decoder, scoring and segmentation head read are the projected
    per-token features ``[B, L, C]`` with the token mask.

    Args:
        config (dict, optional): ``Sam3LiteTextTextConfig`` kwargs (sizes);
            ignored when ``pretrained`` is a ``save_pretrained`` folder,
            which carries its own config.
        out_channels (int): width of the projected features (SAM3's DETR
            ``hidden_size``: 256); read from ``pretrained`` when it is a
            folder. Defaults to 256.
        pretrained (str, optional): loaded strictly: a ``Sam3LiteTextModel``
            ``save_pretrained`` folder (its ``text_encoder.*`` and
            ``text_projection.*`` weights), a ``Sam3LiteTextTextModel``
            folder (text encoder only; the projection from ``projection``
            or the folder's ``text_projection.safetensors``, as
            :meth:`save_pretrained` writes it) or an esam3 checkpoint of a
            :class:`~esam3.models.distillers.TextDistiller` (keys under
            ``student.``).
        projection (str, optional): a ``.pth`` / ``.safetensors`` file with
            the projection weight for a text-model folder.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 config: Optional[dict] = None,
                 out_channels: int = 256,
                 pretrained: Optional[str] = None,
                 projection: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        folder = pretrained is not None and osp.isdir(
            osp.expanduser(pretrained))
        text_cfg, full_cfg = self._folder_config(pretrained) if folder \
            else (None, None)
        if text_cfg is None:
            text_cfg = Sam3LiteTextTextConfig(**dict(config or {}))
        if full_cfg is not None:
            out_channels = int(full_cfg['detr_encoder_config'].get(
                'hidden_size', out_channels))
        elif folder:  # text-model folder: the width of its projection
            if projection is None and osp.isfile(
                    osp.join(osp.expanduser(pretrained), PROJECTION_FILE)):
                projection = osp.join(
                    osp.expanduser(pretrained), PROJECTION_FILE)
            if projection is not None:
                out_channels = int(
                    self._projection_state(projection)
                    ['text_projection.weight'].shape[0])
        self.text_encoder = Sam3LiteTextTextModel(text_cfg)
        self.text_projection = nn.Linear(text_cfg.hidden_size, out_channels)
        self.out_channels = int(out_channels)
        self.pretrained = pretrained
        if pretrained is not None:
            self.load_pretrained(pretrained, projection)

    # ------------------------------------------------------------ loading
    @staticmethod
    def _folder_config(path: str):
        path = osp.expanduser(path)
        cfg_file = osp.join(path, 'config.json')
        if not osp.isfile(cfg_file):
            raise FileNotFoundError(f'{path} has no config.json; expected a '
                                    'save_pretrained folder')
        with open(cfg_file) as f:
            cfg = json.load(f)
        kind = cfg.get('model_type')
        if kind == FULL_MODEL_TYPE:
            return Sam3LiteTextTextConfig(**cfg.get('text_config', {})), cfg
        if kind == TEXT_MODEL_TYPE:
            return Sam3LiteTextTextConfig.from_pretrained(path), None
        raise ValueError(f'{cfg_file}: model_type {kind!r}; the text student '
                         f'loads {FULL_MODEL_TYPE!r} (Sam3LiteTextModel) or '
                         f'{TEXT_MODEL_TYPE!r} (Sam3LiteTextTextModel) '
                         'folders')

    def load_pretrained(self,
                        path: str,
                        projection: Optional[str] = None) -> None:
        """Strictly load ``path`` (see ``pretrained``).

        Raises:
            CheckpointMismatchError: naming missing / unexpected keys.
        """
        full = osp.expanduser(path)
        if osp.isdir(full):
            state = read_hf_folder_state(full)
            kind = self._folder_config(full)[1] is not None
            if kind:  # Sam3LiteTextModel: keep the text part only
                state = {
                    k: v
                    for k, v in state.items()
                    if k.startswith(('text_encoder.', 'text_projection.'))
                }
                source = f'Sam3LiteTextModel folder {path} (text_encoder.* ' \
                    '+ text_projection.*)'
            else:
                state = {f'text_encoder.{k}': v for k, v in state.items()}
                own = osp.join(full, PROJECTION_FILE)
                if projection is None and osp.isfile(own):
                    projection = own  # written by save_pretrained()
                if projection is None:
                    raise ValueError(
                        f'{path} is a Sam3LiteTextTextModel folder without '
                        'the projection to the DETR width: pass projection='
                        '(a file holding text_projection.weight / .bias)')
                state.update(self._projection_state(projection))
                source = f'Sam3LiteTextTextModel folder {path} + projection ' \
                    f'{projection}'
        else:
            state = strip_prefix(
                extract_state_dict(load_checkpoint_file(full)), 'student.')
            source = f'text distiller checkpoint {path} (keys under student.)'
        load_state_dict_checked(self, state, source)
        self._is_init = True  # keep the weights through init_weights()
        print_log(
            f'text student loaded strictly from {source}', logger='current')

    @staticmethod
    def _projection_state(path: str) -> Dict[str, Tensor]:
        path = osp.expanduser(path)
        if path.endswith('.safetensors'):
            from safetensors.torch import load_file
            state = load_file(path)
        else:
            state = extract_state_dict(load_checkpoint_file(path))
        state = {
            k[k.index('text_projection.'):]: v
            for k, v in state.items() if 'text_projection.' in k
        }
        if not state:
            raise KeyError(f'{path}: no text_projection.* weights')
        return state

    def save_pretrained(self, path: str) -> None:
        """Write the text encoder as a ``Sam3LiteTextTextModel`` folder plus
        ``text_projection.safetensors`` (``pretrained=path`` finds it)."""
        from safetensors.torch import save_file
        self.text_encoder.save_pretrained(path)
        save_file(
            {
                f'text_projection.{k}': v.contiguous()
                for k, v in self.text_projection.state_dict().items()
            }, osp.join(path, PROJECTION_FILE))

    # ------------------------------------------------------------ forward
    @property
    def identity(self) -> dict:
        """What describes this encoder (recorded in vocabulary caches)."""
        return text_encoder_identity(self)

    def forward(self,
                input_ids: Tensor,
                attention_mask: Optional[Tensor] = None,
                **kwargs) -> BaseModelOutputWithPooling:
        """Same contract as ``Sam3Model.get_text_features``:

        ``pooler_output`` holds the projected per-token features ``[B, L,
        C]`` (what SAM3's DETR reads), ``last_hidden_state`` the encoder's
        ``[B, L, hidden]``.
        """
        out = self.text_encoder(
            input_ids=input_ids, attention_mask=attention_mask)
        hidden = out.last_hidden_state
        return BaseModelOutputWithPooling(
            last_hidden_state=hidden,
            pooler_output=self.text_projection(hidden))
