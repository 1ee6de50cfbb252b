# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""SAM3's memory attention with RoPE on compressed memory keys (EdgeTAM).

transformers' ``EdgeTamVideoMemoryAttention`` rotates the queries (the
current frame's ``H x W`` grid) and, per memory frame, the 2D latents of the
Perceiver at their own positions; global latents and object pointers are not
rotated. With 4 layers its parameters have SAM3's shapes, so the SAM3
tracker's memory attention loads into it after renaming the MLP
(``linear1`` / ``linear2`` -> ``mlp.up_proj`` / ``mlp.down_proj``).

The one thing configured here: transformers places the 2D latents at integer
positions of their own latent grid (``arange(k_size)``), i.e. latent
``(i, j)`` would score like the query-grid token at ``(i, j)``, a corner of
the map. :class:`Sam3RoPEMemoryAttention` places every 2D latent at the
CENTRE of its window on the query grid (``memory bank.key_positions``), so
the teacher's learned "attend to the same place" carries over; a dense
memory frame (every token its own window) gets exactly SAM3's rotation.
"""
from typing import Dict, Mapping, Optional

import torch
from torch import Tensor
from transformers import EdgeTamVideoConfig
from transformers.models.edgetam_video.modeling_edgetam_video import \
    EdgeTamVideoMemoryAttention

# SAM3 (Sam3TrackerVideoMemoryAttentionLayer) -> EdgeTAM layer names
SAM3_TO_EDGETAM = {'linear1.': 'mlp.up_proj.', 'linear2.': 'mlp.down_proj.'}


def edgetam_memory_attention_config(sam3_config,
                                    num_layers: Optional[int] = None
                                    ) -> EdgeTamVideoConfig:
    """An ``EdgeTamVideoConfig`` whose memory attention has the shapes, dropout
    and RoPE of a ``Sam3TrackerVideoConfig``'s.

    Args:
        sam3_config: the SAM3 video tracker config.
        num_layers: memory-attention layers (default: SAM3's, 4).
    """
    c = sam3_config
    feat = list(c.memory_attention_rope_feat_sizes)
    config = EdgeTamVideoConfig(
        memory_attention_hidden_size=c.memory_attention_hidden_size,
        memory_attention_num_layers=int(num_layers
                                        or c.memory_attention_num_layers),
        memory_attention_num_attention_heads=(
            c.memory_attention_num_attention_heads),
        memory_attention_downsample_rate=c.memory_attention_downsample_rate,
        memory_attention_mlp_hidden_size=(
            c.memory_attention_feed_forward_hidden_size),
        memory_attention_mlp_hidden_act=(
            c.memory_attention_feed_forward_hidden_act),
        memory_attention_dropout=c.memory_attention_dropout,
        memory_attention_rope_dropout=c.memory_attention_rope_dropout,
        memory_attention_rope_feat_sizes=feat,
        memory_attention_rope_k_sizes=feat,
        rope_parameters=dict(c.rope_parameters))
    # a standalone module gets no attention backend from a PreTrainedModel:
    # use the SAM3 model's (SDPA by default) instead of the eager one
    config._attn_implementation = getattr(c, '_attn_implementation',
                                          None) or 'sdpa'
    return config


def sam3_to_edgetam_state_dict(state_dict: Mapping[str, Tensor],
                               num_layers: int,
                               prefix: str = '') -> Dict[str, Tensor]:
    """Rename SAM3 memory-attention weights for the EdgeTAM module.

    Keys under ``prefix`` get the MLP renamed (:data:`SAM3_TO_EDGETAM`);
    SAM3 layers ``>= num_layers`` are dropped (a shallower student starts
    from SAM3's first ``num_layers`` layers); other keys pass unchanged.
    """
    out = {}
    layer_prefix = prefix + 'layers.'
    for key, value in state_dict.items():
        if key.startswith(layer_prefix):
            idx, rest = key[len(layer_prefix):].split('.', 1)
            if int(idx) >= num_layers:
                continue
            for old, new in SAM3_TO_EDGETAM.items():
                if rest.startswith(old):
                    rest = new + rest[len(old):]
            key = f'{layer_prefix}{idx}.{rest}'
        out[key] = value
    return out


class Sam3RoPEMemoryAttention(EdgeTamVideoMemoryAttention):
    """Transformers' EdgeTAM memory attention with key positions on the query
    grid.

    Memory layout expected by ``forward`` (as the banks' ``gather`` gives
    it): per memory frame ``[unrotated tokens (global latents), rotated
    tokens (2D latents or dense tokens)]``, frames one after another, then
    the object-pointer tokens (unrotated). ``num_spatial_memory_tokens`` of
    ``forward`` is the number of memory frames.

    Args:
        config: from :func:`edgetam_memory_attention_config`.
        key_positions: ``[N, 2]`` (x, y) query-grid positions of the rotated
            tokens of one memory frame (window centres, may be fractional).
    """

    def __init__(self, config: EdgeTamVideoConfig,
                 key_positions: Tensor) -> None:
        super().__init__(config)
        self.set_key_positions(key_positions)

    def set_key_positions(self, key_positions: Tensor) -> None:
        """Place the rotated memory tokens of a frame (``[N, 2]`` x, y)."""
        pos = torch.as_tensor(key_positions, dtype=torch.float32)
        if pos.dim() != 2 or pos.shape[1] != 2 or not len(pos):
            raise ValueError('key_positions must be a non-empty [N, 2] (x, '
                             f'y), got {tuple(pos.shape)}')
        self.position_ids_k = pos.to(self.position_ids.device)

    @property
    def num_rotated_keys(self) -> int:
        """Rotated tokens per memory frame."""
        return int(self.position_ids_k.shape[0])

    def load_sam3_state_dict(self,
                             state_dict: Mapping[str, Tensor],
                             source: str = 'SAM3 memory attention') -> None:
        """Strictly load a SAM3 tracker memory attention's weights (first
        ``num_layers`` layers, MLP renamed).

        Raises:
            CheckpointMismatchError: naming missing / unexpected /
                mis-shaped keys.
        """
        from esam3.utils.checkpoint import load_state_dict_checked
        load_state_dict_checked(
            self, sam3_to_edgetam_state_dict(state_dict, len(self.layers)),
            source)
        self.mark_initialized()

    def mark_initialized(self) -> None:
        """Flag the loaded weights as initialised for transformers, so that the
        enclosing model's ``init_weights()`` (called by mmengine's Runner) does
        not re-draw them."""
        for module in self.modules():
            module._is_hf_initialized = True
        for tensor in list(self.parameters()) + list(self.buffers()):
            tensor._is_hf_initialized = True
