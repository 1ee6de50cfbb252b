# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""FIFO memory bank shared by the dense (SAM2/SAM3) and Perceiver banks."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from .position_encoding import sine_position_encoding_1d


class BaseMemoryBank(BaseModule):
    """Per-object memory of past frames plus object pointers.

    Objects are folded into the batch (``B* = batch x objects``); every
    stored tensor has ``B*`` rows and all rows share the same frames.

    Frames: up to ``max_cond_frames`` conditioning (prompted) frames and the
    ``num_maskmem - 1`` most recent non-conditioning frames. A new frame
    evicts the oldest one of its kind; appending a frame index that is
    already stored replaces it (re-prompting a frame).

    Temporal encoding (like SAM2's ``maskmem_tpos_enc``): a learned table
    ``[num_maskmem, C]``; the ``r``-th most recent non-conditioning frame
    (``r = 0`` newest) gets row ``r``, conditioning frames get the last row.

    Object pointers: one ``[B*, ptr_dim]`` vector per appended frame, at
    most ``max_obj_ptrs`` kept (conditioning pointers first, then the
    newest non-conditioning ones; the oldest non-conditioning pointer is
    evicted). A pointer wider than ``C`` is split into ``ptr_dim // C``
    tokens (as SAM2 does); its positional encoding is a 1D sine encoding of
    the frame distance normalised by ``max_obj_ptrs - 1``, projected to
    ``C`` by ``ptr_tpos_proj``.

    Args:
        mem_dim: memory token width ``C``.
        num_maskmem: memory slots (1 conditioning + ``num_maskmem - 1``
            recent frames).
        max_cond_frames: conditioning frames kept.
        max_obj_ptrs: object pointers kept.
        ptr_dim: object pointer width (SAM3: 256).
        detach: detach stored tensors (no back-propagation through time).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 mem_dim: int = 64,
                 num_maskmem: int = 7,
                 max_cond_frames: int = 1,
                 max_obj_ptrs: int = 16,
                 ptr_dim: int = 256,
                 detach: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if ptr_dim % mem_dim:
            raise ValueError(f'ptr_dim {ptr_dim} must be a multiple of '
                             f'mem_dim {mem_dim}')
        self.mem_dim = mem_dim
        self.num_maskmem = num_maskmem
        self.max_cond_frames = max_cond_frames
        self.max_obj_ptrs = max_obj_ptrs
        self.ptr_dim = ptr_dim
        self.detach = detach
        self.maskmem_tpos_enc = nn.Parameter(torch.zeros(num_maskmem, mem_dim))
        nn.init.trunc_normal_(self.maskmem_tpos_enc, std=0.02)
        self.ptr_tpos_proj = nn.Linear(ptr_dim, mem_dim)
        self.reset()

    # ------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget all frames and pointers (start of a new video / clip)."""
        self._cond: List[Dict] = []
        self._recent: List[Dict] = []
        self._ptrs: List[Dict] = []
        self._last_frame: Optional[int] = None

    @property
    def num_frames(self) -> int:
        """Memory frames currently stored."""
        return len(self._cond) + len(self._recent)

    @property
    def num_objects(self) -> int:
        """Batch rows ``B*`` of the stored tensors (0 when empty)."""
        for entry in self._cond + self._recent + self._ptrs:
            return entry['tokens'].shape[0] if 'tokens' in entry \
                else entry['ptr'].shape[0]
        return 0

    @property
    def frame_indices(self) -> List[int]:
        """Stored frame indices in ``gather`` order."""
        return [e['frame_idx'] for e in self._cond + self._recent]

    @property
    def pointer_frame_indices(self) -> List[int]:
        """Frame indices of the stored pointers in ``gather`` order."""
        return [e['frame_idx'] for e in self._ordered_ptrs()]

    @property
    def num_pointer_tokens(self) -> int:
        """Tokens the object pointers add to ``gather``."""
        return len(self._ptrs) * (self.ptr_dim // self.mem_dim)

    @property
    def num_memory_tokens(self) -> int:
        """Total tokens returned by ``gather``."""
        return sum(e['tokens'].shape[1] for e in self._cond + self._recent) \
            + self.num_pointer_tokens

    def encode(self, memory_feats: Tensor,
               memory_pos: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Turn a memory map ``[B*, C, H, W]`` into ``([B*, T, C], pos)``."""
        raise NotImplementedError

    def tokens_per_frame(self, height: int, width: int) -> int:
        """Tokens one stored ``height x width`` memory frame contributes."""
        raise NotImplementedError

    def num_unrotated_per_frame(self) -> int:
        """Leading tokens of every stored frame that have no position on the
        query grid (no RoPE in the memory attention)."""
        raise NotImplementedError

    def key_positions(self, height: int, width: int) -> Tensor:
        """``[N, 2]`` (x, y) query-grid positions of the other tokens of a
        ``height x width`` memory frame, in storage order (the RoPE positions
        of the memory keys)."""
        raise NotImplementedError

    # ------------------------------------------------------------ update
    def _drop_frame(self, frame_idx: int) -> None:
        self._cond = [e for e in self._cond if e['frame_idx'] != frame_idx]
        self._recent = [e for e in self._recent if e['frame_idx'] != frame_idx]
        self._ptrs = [e for e in self._ptrs if e['frame_idx'] != frame_idx]

    def append(self,
               frame_idx: int,
               memory_feats: Tensor,
               memory_pos: Optional[Tensor] = None,
               obj_ptr: Optional[Tensor] = None,
               is_cond: bool = False) -> None:
        """Store the memory of one frame for all objects.

        Args:
            frame_idx: index of the frame in the video.
            memory_feats: memory encoder output ``[B*, C, H, W]``.
            memory_pos: its positional encoding ``[B* or 1, C, H, W]``.
            obj_ptr: object pointer ``[B*, ptr_dim]`` of that frame.
            is_cond: the frame carries a prompt (conditioning frame).
        """
        if self.num_objects and memory_feats.shape[0] != self.num_objects:
            raise ValueError(f'bank holds {self.num_objects} rows, got '
                             f'{memory_feats.shape[0]}')
        tokens, pos = self.encode(memory_feats, memory_pos)
        if self.detach:
            tokens, pos = tokens.detach(), pos.detach()
        self._drop_frame(frame_idx)
        entry = dict(frame_idx=frame_idx, tokens=tokens, pos=pos)
        queue, cap = (self._cond,
                      self.max_cond_frames) if is_cond else (self._recent,
                                                             self.num_maskmem -
                                                             1)
        queue.append(entry)
        while len(queue) > cap:
            queue.pop(0)  # oldest of its kind
        if obj_ptr is not None:
            if self.detach:
                obj_ptr = obj_ptr.detach()
            self._ptrs.append(
                dict(frame_idx=frame_idx, ptr=obj_ptr, is_cond=is_cond))
            self._evict_pointers()
        self._last_frame = frame_idx

    def _evict_pointers(self) -> None:
        cond = [e for e in self._ptrs if e['is_cond']]
        while len(cond) > self.max_cond_frames:
            self._ptrs.remove(cond.pop(0))
        while len(self._ptrs) > self.max_obj_ptrs:
            victims = [e for e in self._ptrs if not e['is_cond']] or self._ptrs
            self._ptrs.remove(victims[0])

    def remove_object(self, idx: Union[int, Sequence[int]]) -> None:
        """Drop batch row(s) ``idx`` (an object that left the video)."""
        n = self.num_objects
        drop = {idx} if isinstance(idx, int) else set(idx)
        drop = {i % n for i in drop} if n else drop
        keep = [i for i in range(n) if i not in drop]
        for entry in self._cond + self._recent:
            keep_t = torch.tensor(
                keep, device=entry['tokens'].device, dtype=torch.long)
            entry['tokens'] = entry['tokens'].index_select(0, keep_t)
            if entry['pos'].shape[0] == n:
                entry['pos'] = entry['pos'].index_select(0, keep_t)
        for entry in self._ptrs:
            keep_t = torch.tensor(
                keep, device=entry['ptr'].device, dtype=torch.long)
            entry['ptr'] = entry['ptr'].index_select(0, keep_t)

    # ------------------------------------------------------------ read
    def _ordered_ptrs(self) -> List[Dict]:
        cond = [e for e in self._ptrs if e['is_cond']]
        recent = [e for e in self._ptrs if not e['is_cond']][::-1]
        return cond + recent

    def _pointer_tokens(self, frame_idx: int) -> Tuple[Tensor, Tensor]:
        ptrs = self._ordered_ptrs()
        ptr = torch.stack([e['ptr'] for e in ptrs], dim=1)  # [B*, P, D]
        b, p, _ = ptr.shape
        splits = self.ptr_dim // self.mem_dim
        dist = torch.tensor([abs(frame_idx - e['frame_idx']) for e in ptrs],
                            dtype=torch.float32,
                            device=ptr.device)
        dist = dist / max(self.max_obj_ptrs - 1, 1)
        pos = self.ptr_tpos_proj(
            sine_position_encoding_1d(dist, self.ptr_dim).to(ptr.dtype))
        pos = pos.repeat_interleave(splits, dim=0).unsqueeze(0)
        tokens = ptr.reshape(b, p * splits, self.mem_dim)
        return tokens, pos.repeat(b, 1, 1)

    def gather(self, frame_idx: Optional[int] = None) -> Tuple[Tensor, Tensor]:
        """Memory tokens for memory attention at frame ``frame_idx``.

        Order: conditioning frames, non-conditioning frames (oldest to
        newest), then object pointer tokens (conditioning first, then
        newest to oldest); ``num_pointer_tokens`` tells how many.

        Args:
            frame_idx: current frame (for the pointers' temporal distance);
                default = last appended frame + 1.

        Returns:
            ``(memory, memory_pos)``, both ``[B*, N*T + P, C]``;
            ``memory_pos`` includes the temporal encoding.
        """
        if not self.num_frames and not self._ptrs:
            raise RuntimeError('the memory bank is empty')
        if frame_idx is None:
            frame_idx = self._last_frame + 1
        tokens, pos = [], []
        last = self.num_maskmem - 1
        n_recent = len(self._recent)
        slots = [last] * len(self._cond) + [
            min(n_recent - 1 - i, last) for i in range(n_recent)
        ]
        for entry, slot in zip(self._cond + self._recent, slots):
            tokens.append(entry['tokens'])
            pos.append(entry['pos'] + self.maskmem_tpos_enc[slot])
        if self._ptrs:
            ptr_tokens, ptr_pos = self._pointer_tokens(frame_idx)
            tokens.append(ptr_tokens)
            pos.append(ptr_pos)
        b = tokens[0].shape[0]
        pos = [p.expand(b, -1, -1) if p.shape[0] == 1 else p for p in pos]
        return torch.cat(tokens, dim=1), torch.cat(pos, dim=1)
