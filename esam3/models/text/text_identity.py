# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""What identifies a text encoder, for checking cached text embeddings."""
import hashlib

import torch
from torch import nn

__all__ = ['text_encoder_identity', 'describe_identity']


def _fingerprint(*tensors: torch.Tensor) -> str:
    digest = hashlib.sha1()
    for t in tensors:
        digest.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def text_encoder_identity(module: nn.Module) -> dict:
    """Kind, size and a weight fingerprint of ``module.text_encoder`` +
    ``module.text_projection`` (a ``Sam3Model`` / ``Sam3LiteTextModel``
    detector, :class:`Sam3TextTeacher`, :class:`Sam3LiteTextStudent`).

    The fingerprint hashes the projection weight (trained in Stage 3) and the
    encoder's final layer norm, so embeddings cached with other weights of the
    same architecture are told apart too.
    """
    enc, proj = module.text_encoder, module.text_projection
    cfg = enc.config
    final_ln = getattr(enc, 'final_layer_norm', None)
    if final_ln is None:  # CLIPTextModelWithProjection
        final_ln = enc.text_model.final_layer_norm
    return dict(
        encoder=type(enc).__name__,
        hidden_size=int(cfg.hidden_size),
        num_hidden_layers=int(cfg.num_hidden_layers),
        out_channels=int(proj.out_features),
        weights=_fingerprint(proj.weight, final_ln.weight))


def describe_identity(identity: dict) -> str:
    """One line, e.g. ``CLIPTextModelWithProjection (hidden 1024, 24 layers, ->
    256, weights 1a2b...)``."""
    return (f"{identity.get('encoder')} (hidden {identity.get('hidden_size')},"
            f" {identity.get('num_hidden_layers')} layers, -> "
            f"{identity.get('out_channels')}, weights "
            f"{identity.get('weights')})")
