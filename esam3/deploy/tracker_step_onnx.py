# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Exportable video tracker step with a fixed-size memory state.

:class:`~esam3.models.trackers.Sam3VideoTrackerStudent` keeps its memory in
Python lists (:class:`~esam3.models.memory.BaseMemoryBank`), which an ONNX
graph cannot hold. Here the same bank is a set of fixed-size tensors that
a runtime passes from one step to the next:

* ``mem_tokens`` / ``mem_pos`` ``[N, F, K, C]``: ``F = max_cond_frames +
  num_maskmem - 1`` memory slots of ``K`` Perceiver latents; slot 0 is the
  conditioning (prompted) frame, slots ``1..F-1`` the recent frames, oldest
  first (a new frame shifts them left);
* ``mem_valid`` ``[N, F]``: 1 for a filled slot;
* ``ptr_tokens`` ``[N, P, D]``, ``ptr_frame`` / ``ptr_valid`` ``[N, P]``
  with ``P = max_obj_ptrs``: object pointers (slot 0 conditioning, then
  recent ones, oldest first) and their frame indices.

Empty slots are excluded from the memory attention by an additive key
mask (a registered transformers attention function, see
:func:`key_padding_mask`), so the result equals the bank's unpadded
``gather``: attention does not depend on the key order, and the temporal
encoding of a slot only depends on its place (row ``F - 1 - j`` of
``maskmem_tpos_enc`` for recent slot ``j``, the last row for the
conditioning slot), exactly as the bank assigns it.

Two graphs share this state: :class:`TrackerStepOnnx` with
``prompted=False`` (a tracked frame: memory attention, write a recent
slot) and ``prompted=True`` (a prompted frame: point / box prompt decoding,
write the conditioning slot). Only ``max_cond_frames == 1`` (the default of
every esam3 config) is supported: the conditioning slot is then simply
replaced, as the bank does.
"""
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from esam3.models.memory.position_encoding import sine_position_encoding_1d
from esam3.models.trackers.tracker_decode import sam_decode

STATE_NAMES = ('mem_tokens', 'mem_pos', 'mem_valid', 'ptr_tokens', 'ptr_frame',
               'ptr_valid')
FRAME_INPUTS = ('vid_s0', 'vid_s1', 'vid')
STEP_OUTPUTS = ('masks', 'object_score_logits')
MASKED_ATTENTION = 'esam3_key_masked'
# additive logit of an empty memory slot: exp() underflows to exactly 0
EMPTY_SLOT_LOGIT = -1e9


def _masked_sdpa(module: nn.Module, query: Tensor, key: Tensor, value: Tensor,
                 attention_mask, **kwargs):
    """Transformers' SDPA attention with the key mask set on ``module``.

    transformers' EdgeTAM cross-attention passes ``attention_mask=None``;
    this registered attention function adds the bias stored by
    :func:`key_padding_mask` instead (``None`` elsewhere, e.g. self-
    attention).
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    bias = getattr(module, '_esam3_key_bias', None)
    if bias is not None:
        attention_mask = bias.to(query.dtype)
    return sdpa_attention_forward(module, query, key, value, attention_mask,
                                  **kwargs)


def _register() -> None:
    from transformers import AttentionInterface
    AttentionInterface.register(MASKED_ATTENTION, _masked_sdpa)


@contextmanager
def key_padding_mask(memory_attention: nn.Module,
                     key_valid: Tensor) -> Iterator[None]:
    """Run transformers' EdgeTAM memory attention with a key mask.

    Args:
        memory_attention: the tracker's ``Sam3RoPEMemoryAttention``.
        key_valid: ``[B, Nk]`` 1 for real memory tokens, 0 for padding.
    """
    _register()
    bias = (1.0 - key_valid.float()) * EMPTY_SLOT_LOGIT
    bias = bias[:, None, None, :]  # [B, heads, Lq, Nk] broadcast
    cfg = memory_attention.config
    old = cfg._attn_implementation
    crosses = [layer.cross_attn_image for layer in memory_attention.layers]
    cfg._attn_implementation = MASKED_ATTENTION
    for attn in crosses:
        attn._esam3_key_bias = bias
    try:
        yield
    finally:
        cfg._attn_implementation = old
        for attn in crosses:
            attn._esam3_key_bias = None


@dataclass
class TrackerStateSpec:
    """Sizes of the fixed memory state of a student tracker.

    Attributes:
        num_slots: memory frames ``F`` (1 conditioning + recent).
        num_latents: tokens per memory frame ``K``.
        mem_dim: memory width ``C``.
        num_ptrs: object-pointer slots ``P``.
        ptr_dim: pointer width ``D``.
        mask_size: low-res mask logits ``(h, w)``.
        feature_shapes: ``[C_i, H_i, W_i]`` of the three frame features.
    """
    num_slots: int
    num_latents: int
    mem_dim: int
    num_ptrs: int
    ptr_dim: int
    mask_size: Tuple[int, int]
    feature_shapes: Optional[List[List[int]]] = None

    @classmethod
    def from_tracker(cls,
                     tracker: nn.Module,
                     feature_shapes=None) -> 'TrackerStateSpec':
        """Read the sizes of a ``Sam3VideoTrackerStudent`` (``feature_shapes``:
        ``[C_i, H_i, W_i]`` of its three frame features, recorded in the
        manifest).

        Raises:
            ValueError: a bank without a Perceiver or with more than one
                conditioning frame.
        """
        bank = tracker.memory_bank
        if not hasattr(bank, 'perceiver'):
            raise ValueError(f'{type(bank).__name__} has no Perceiver: the '
                             'tracker_step graph needs a fixed number of '
                             'tokens per memory frame (PerceiverMemoryBank)')
        if int(bank.max_cond_frames) != 1:
            raise ValueError('the tracker_step graph supports '
                             'max_cond_frames=1, the memory bank has '
                             f'{bank.max_cond_frames}')
        shapes = [list(s) for s in feature_shapes] if feature_shapes \
            else None
        return cls(
            num_slots=int(bank.max_cond_frames) + int(bank.num_maskmem) - 1,
            num_latents=int(bank.perceiver.num_latents),
            mem_dim=int(bank.mem_dim),
            num_ptrs=int(bank.max_obj_ptrs),
            ptr_dim=int(bank.ptr_dim),
            mask_size=tuple(int(s) for s in tracker.mask_size),
            feature_shapes=shapes)

    def state_shapes(self, num_objects: int = 1) -> Dict[str, Tuple]:
        """Shape of every state tensor for ``num_objects`` rows."""
        n, f, k, c = num_objects, self.num_slots, self.num_latents, \
            self.mem_dim
        return dict(
            mem_tokens=(n, f, k, c),
            mem_pos=(n, f, k, c),
            mem_valid=(n, f),
            ptr_tokens=(n, self.num_ptrs, self.ptr_dim),
            ptr_frame=(n, self.num_ptrs),
            ptr_valid=(n, self.num_ptrs))

    def empty_state(self, num_objects: int = 1) -> Dict[str, np.ndarray]:
        """An empty memory (float32 zeros) for ``num_objects`` rows."""
        return {
            k: np.zeros(s, np.float32)
            for k, s in self.state_shapes(num_objects).items()
        }

    def to_dict(self) -> dict:
        return dict(
            num_slots=self.num_slots,
            num_latents=self.num_latents,
            mem_dim=self.mem_dim,
            num_ptrs=self.num_ptrs,
            ptr_dim=self.ptr_dim,
            mask_size=list(self.mask_size),
            feature_shapes=self.feature_shapes)


class TrackerStepOnnx(nn.Module):
    """One video step of a student tracker on a fixed-size memory state.

    Args:
        tracker: a ``Sam3VideoTrackerStudent`` with a
            ``PerceiverMemoryBank`` (eval mode).
        prompted: export the prompted-frame step (point / box prompt,
            writes the conditioning slot) instead of the tracked-frame step
            (memory attention, writes a recent slot).
    """

    def __init__(self, tracker: nn.Module, prompted: bool) -> None:
        super().__init__()
        self.tracker = tracker
        self.prompted = bool(prompted)
        self.spec = TrackerStateSpec.from_tracker(tracker)

    @property
    def input_names(self) -> List[str]:
        extra = ['points', 'labels', 'multimask'] if self.prompted else []
        return list(FRAME_INPUTS) + ['frame_idx'] + list(STATE_NAMES) + extra

    @property
    def output_names(self) -> List[str]:
        return list(STEP_OUTPUTS) + ['new_' + n for n in STATE_NAMES]

    # ------------------------------------------------------------ memory
    def _gather(self, frame_idx: Tensor, state: List[Tensor]):
        """The bank's ``gather`` on the padded state (+ key validity)."""
        mem_tokens, mem_pos, mem_valid, ptr_tokens, ptr_frame, ptr_valid = \
            state
        bank = self.tracker.memory_bank
        n, f, k, c = mem_tokens.shape
        last = bank.num_maskmem - 1
        rows = [last] + [f - 1 - j for j in range(1, f)]  # slot -> tpos row
        tpos = bank.maskmem_tpos_enc[torch.tensor(rows)]  # [F, C]
        tokens = mem_tokens.reshape(n, f * k, c)
        pos = (mem_pos + tpos[None, :, None, :]).reshape(n, f * k, c)
        valid = mem_valid[:, :, None].expand(n, f, k).reshape(n, f * k)
        splits = bank.ptr_dim // bank.mem_dim
        p = ptr_tokens.shape[1]
        dist = (frame_idx.reshape(1, 1) - ptr_frame).abs() / max(
            bank.max_obj_ptrs - 1, 1)
        ppos = bank.ptr_tpos_proj(
            sine_position_encoding_1d(dist.reshape(-1),
                                      bank.ptr_dim).to(ptr_tokens.dtype))
        ppos = ppos.reshape(n, p, c).repeat_interleave(splits, dim=1)
        ptok = ptr_tokens.reshape(n, p * splits, c)
        pvalid = ptr_valid.repeat_interleave(splits, dim=1)
        return (torch.cat([tokens, ptok], 1), torch.cat([pos, ppos], 1),
                torch.cat([valid, pvalid], 1), f, p * splits)

    def _write(self, state: List[Tensor], tokens: Tensor, pos: Tensor,
               ptr: Tensor, frame_idx: Tensor) -> List[Tensor]:
        """Put the new memory frame in its slot (conditioning slot 0 on a
        prompted frame, else shift the recent slots and append)."""
        mem_tokens, mem_pos, mem_valid, ptr_tokens, ptr_frame, ptr_valid = \
            state
        n = mem_tokens.shape[0]
        one = mem_valid.new_ones(n, 1)
        fidx = frame_idx.reshape(1, 1).to(ptr_frame.dtype).expand(n, 1)
        if self.prompted:  # replace the conditioning slot

            def put(old, new):
                return torch.cat([new[:, None], old[:, 1:]], 1)
        else:  # drop the oldest recent slot, append the new one

            def put(old, new):
                return torch.cat([old[:, :1], old[:, 2:], new[:, None]], 1)

        return [
            put(mem_tokens, tokens),
            put(mem_pos, pos),
            put(mem_valid, one[:, 0]),
            put(ptr_tokens, ptr),
            put(ptr_frame, fidx[:, 0]),
            put(ptr_valid, one[:, 0])
        ]

    # ----------------------------------------------------------- forward
    def forward(self, vid_s0: Tensor, vid_s1: Tensor, vid: Tensor,
                frame_idx: Tensor, *args: Tensor) -> Tuple[Tensor, ...]:
        """One step for ``N`` objects on one frame.

        Args:
            vid_s0, vid_s1, vid: the frame's tracker features ``[1, C_i,
                H_i, W_i]`` (``encoder.onnx`` outputs).
            frame_idx: float ``[1]``: the frame's index in the video.
            *args: the six state tensors (:data:`STATE_NAMES`), then for
                the prompted step ``points [N, n, 2]`` (input pixels; boxes
                as two corners labelled 2 / 3), ``labels`` int64 ``[N, n]``
                and ``multimask`` float ``[1]`` (1: decode 3 masks and keep
                the best, the tracker's rule for 0-1 clicks).

        Returns:
            ``(mask logits [N, h, w], object score logits [N])`` and the
            six new state tensors.
        """
        state = list(args[:len(STATE_NAMES)])
        tracker, heads = self.tracker, self.tracker.heads
        n = state[0].shape[0]
        neck = heads.vision_encoder.neck
        fpn = [f.expand(n, -1, -1, -1) for f in (vid_s0, vid_s1, vid)]
        if self.prompted:
            points, labels, multimask = args[len(STATE_NAMES):]
            pix = fpn[2] + heads.no_memory_embedding.view(1, -1, 1, 1)
            emb = fpn[:2] + [pix]
            lbl = labels[:, None].to(torch.int32)
            outs = [
                sam_decode(
                    heads, emb, points[:, None], lbl, multimask_output=multi)
                for multi in (True, False)
            ]
            pick = multimask.reshape(()) > 0.5

            def sel(name):
                a, b = getattr(outs[0], name), getattr(outs[1], name)
                return torch.where(pick, a, b)

            low, high = sel('pred_masks'), sel('high_res_masks')
            ptr, obj = sel('object_pointer'), sel('object_score_logits')
        else:
            pos = neck.position_encoding(vid.shape, vid.device, vid.dtype)
            pos = pos.expand(n, -1, -1, -1)
            memory, memory_pos, valid, frames, ptr_tokens = self._gather(
                frame_idx, state)
            with key_padding_mask(heads.memory_attention, valid):
                readout = tracker._read_memory(fpn[2], pos, memory, memory_pos,
                                               frames, ptr_tokens)
            out = sam_decode(
                heads,
                fpn[:2] + [readout],
                multimask_output=heads._use_multimask(False, None))
            low, high = out.pred_masks, out.high_res_masks
            ptr, obj = out.object_pointer, out.object_score_logits
        scores = obj.reshape(n, 1, 1)
        maskmem, maskmem_pos = heads._encode_new_memory(
            current_vision_feats=fpn[2].flatten(2).permute(2, 0, 1),
            pred_masks_high_res=high,
            object_score_logits=scores,
            is_mask_from_pts=self.prompted)
        h, w = fpn[2].shape[-2:]
        maskmem = maskmem.permute(1, 2, 0).reshape(n, -1, h, w).float()
        maskmem_pos = maskmem_pos.permute(1, 2, 0).reshape(n, -1, h, w).float()
        tokens, tpos = tracker.memory_bank.encode(maskmem, maskmem_pos)
        tpos = tpos.expand(n, -1, -1)
        new_state = self._write(state, tokens, tpos, ptr, frame_idx)
        return (low, obj.reshape(n), *new_state)


__all__ = [
    'TrackerStepOnnx', 'TrackerStateSpec', 'STATE_NAMES', 'FRAME_INPUTS',
    'key_padding_mask'
]
