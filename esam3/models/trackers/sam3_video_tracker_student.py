# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Stage 2 student tracker: light frozen encoder + SAM3 video-tracker heads
+ a Perceiver-compressed memory bank (EdgeTAM-style)."""
import copy
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from esam3.registry import MODELS
from esam3.utils.checkpoint import (extract_state_dict, load_checkpoint_file,
                                    load_state_dict_checked,
                                    load_student_checkpoint)
from ..heads.sam3_heads import (check_level_shapes, drop_neck_convs,
                                read_level_shapes)
from ..memory.rope_memory_attention import (Sam3RoPEMemoryAttention,
                                            edgetam_memory_attention_config,
                                            sam3_to_edgetam_state_dict)
from ..necks.neck_levels import NeckLevels, batch_size_of
from ..teachers.sam3_video_teacher import build_sam3_video_tracker
from ..utils.inference_tensors import as_autograd_tensor
from .tracker_decode import DecodeOutput, mask_as_output, sam_decode
from .tracker_prompts import fold_prompt, prompt_num_objects

# Parameters of Sam3TrackerVideoModel the student never uses: the dense
# bank's temporal encodings live in the Perceiver bank instead (initialised
# from these), and the neck's extra stride-28 level is not read by the
# tracker. They stay (for strict copies from the teacher) but are frozen.
UNUSED_HEAD_PARAMS = ('memory_temporal_positional_encoding',
                      'temporal_positional_encoding_projection_layer',
                      'no_memory_positional_encoding',
                      'vision_encoder.neck.fpn_layers.3')

# mask logit of an object on a frame where it is absent
ABSENT_MASK_LOGIT = -1024.0


def hide_absent(mask_logits: Tensor, object_scores: Tensor) -> Tensor:
    """Mask logits ``[..., h, w]`` with the objects whose score logit ``[...]``
    is <= 0 (absent on that frame) set to ``ABSENT_MASK_LOGIT``."""
    return torch.where(object_scores[..., None, None] > 0, mask_logits,
                       mask_logits.new_full((), ABSENT_MASK_LOGIT))


@MODELS.register_module()
class Sam3VideoTrackerStudent(BaseModule):
    """Streaming video object tracker distilled from the SAM3 tracker.

    Per frame: the frozen student encoder (``trunk``, imitating the SAM3 ViT
    output) -> the SAM3 tracker neck -> transformers' memory attention
    reading a :class:`~esam3.models.memory.PerceiverMemoryBank` (each memory
    frame compressed to ``K`` latents, plus up to 16 object pointers) with
    transformers' EdgeTAM RoPE memory attention (2D latents rotated at their
    window centres, see
    :class:`~esam3.models.memory.Sam3RoPEMemoryAttention`) ->
    transformers' prompt encoder and mask decoder -> transformers' memory
    encoder, whose output the bank compresses and stores. Objects are folded
    into the batch (``B* = B x N``), so any batch size and number of objects
    runs as one batch.

    All neural modules after the encoder are those of
    ``Sam3TrackerVideoModel`` (vision trunk removed; the neck stays) and are
    initialised from the teacher (``load_heads``). Only the per-frame loop
    (what the dense ``Sam3TrackerVideoInferenceSession`` does with a dense
    bank) is written here, because no library offers it for a compressed
    bank. Differences from the teacher: memory keys are Perceiver latents
    (global latents and object pointers unrotated, 2D latents rotated at
    their window centres, EdgeTAM's scheme; all keys also carry the bank's
    additive sine / temporal encodings), the memory attention may have
    fewer layers (``memory_attention.num_layers``: SAM3's first ones), and
    memories stay in float32 instead of bfloat16.

    With a light-neck encoder (:class:`~esam3.models.necks.Sam3LightFPN`)
    the encoder makes the tracker's FPN levels itself: the SAM3 neck
    convolutions are dropped and only the tracker levels are computed.

    Args:
        trunk: config of the student encoder (``StudentTrunk`` returning
            :class:`~esam3.models.necks.NeckLevels` or the SAM3-trunk-like
            map ``[B, C, S/14, S/14]``). ``None`` when the caller owns the
            encoder and passes its output to :meth:`step` (Stage 3:
            :class:`~esam3.models.EfficientSAM3` shares its encoder between
            the concept heads and this tracker).
        sam3_video: ``dict(pretrained=...)`` or ``dict(config=...)`` of the
            SAM3 video tracker whose heads the student uses.
        memory_bank: config of the memory bank (``PerceiverMemoryBank``;
            ``DenseMemoryBank`` gives the uncompressed baseline).
        memory_attention: ``dict(num_layers=...)`` of the RoPE memory
            attention (transformers' ``EdgeTamVideoMemoryAttention`` with
            SAM3's shapes, loaded from SAM3's weights by a name mapping);
            ``num_layers`` None = SAM3's 4.
        frozen_heads: name prefixes (inside the HF tracker) to freeze.
        freeze_trunk: keep the encoder frozen and in eval mode (Stage 2).
        with_cp: gradient checkpointing of the memory attention and the
            Perceiver.
        trunk_checkpoint: Stage 1 checkpoint to initialise the encoder
            from, loaded strictly (missing / unexpected keys raise).
        trunk_prefix: key prefix of the encoder in ``trunk_checkpoint``.
        decoder_from_trunk_checkpoint: also take the SAM3 tracker mask
            decoder trained in Stage 1 from ``trunk_checkpoint`` (keys under
            ``decoder_prefix``, strict), instead of the teacher's copy; it
            is re-applied after the distiller copies the teacher's heads.
        decoder_prefix: key prefix of the Stage 1 tracker mask decoder.
        student_levels: the encoder makes the FPN levels (light neck), so
            SAM3's neck convolutions are dropped. ``None``: taken from
            ``trunk`` (False without one).
        level_branch: which of the light neck's branches this tracker reads:
            ``'tracker'`` (SAM3's video tracker shares the tracker neck) or
            ``'video'`` (a video tracker with a neck of its own, e.g. the
            tiny test models, whose widths differ).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 trunk: Optional[dict],
                 sam3_video: dict,
                 memory_bank: dict = dict(type='PerceiverMemoryBank'),
                 memory_attention: dict = dict(num_layers=None),
                 frozen_heads: Sequence[str] = ('vision_encoder',
                                                'prompt_encoder'),
                 freeze_trunk: bool = True,
                 with_cp: bool = False,
                 trunk_checkpoint: Optional[str] = None,
                 trunk_prefix: str = 'student.trunk.',
                 decoder_from_trunk_checkpoint: bool = True,
                 decoder_prefix: str = 'student.heads.tracker.mask_decoder.',
                 student_levels: Optional[bool] = None,
                 level_branch: str = 'tracker',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.trunk = MODELS.build(trunk) if trunk is not None else None
        # Stage 1 mask decoder weights (see decoder_from_trunk_checkpoint);
        # a plain attribute, not part of the state dict
        self._carried_decoder: Optional[Dict[str, Tensor]] = None
        heads = build_sam3_video_tracker(**sam3_video)
        heads.vision_encoder.backbone = None  # the student encoder replaces it
        if student_levels is None:
            student_levels = bool(getattr(self.trunk, 'makes_levels', False))
        self.student_levels = bool(student_levels)
        self.level_branch = level_branch
        if self.student_levels:
            drop_neck_convs(heads.vision_encoder)
        self.heads = heads
        cfg = heads.config
        vit = cfg.vision_config.backbone_config
        patch = vit.patch_size if isinstance(vit.patch_size, int) \
            else vit.patch_size[0]
        self.image_size = int(cfg.image_size)
        self.trunk_channels = int(vit.hidden_size)
        self.grid = self.image_size // int(patch)
        # low-res mask logits: 4x the trunk grid (288 at 1008 px)
        self.mask_size = tuple(heads.prompt_encoder.mask_input_size)
        self.hidden_dim = int(heads.hidden_dim)
        self.mem_dim = int(heads.mem_dim)
        self.num_read_levels = len(cfg.vision_config.scale_factors) - 1
        if self.student_levels and self.trunk is not None:
            self.check_levels(
                self.trunk.neck.level_shapes((self.grid, self.grid)))

        bank = dict(memory_bank)
        bank.setdefault('mem_dim', self.mem_dim)
        bank.setdefault('num_maskmem', int(cfg.num_maskmem))
        bank.setdefault('max_obj_ptrs',
                        int(cfg.max_object_pointers_in_encoder))
        bank.setdefault('ptr_dim', self.hidden_dim)
        self.memory_bank = MODELS.build(bank)
        self._build_memory_attention(**memory_attention)
        self.with_cp = with_cp
        if with_cp and hasattr(self.memory_bank, 'perceiver'):
            self.memory_bank.perceiver.with_cp = True

        self._freeze_heads(tuple(frozen_heads) + UNUSED_HEAD_PARAMS)
        self.sync_bank_from_heads()
        self.freeze_trunk = freeze_trunk
        if freeze_trunk and self.trunk is not None:
            self.trunk.requires_grad_(False)
            self.trunk.eval()
        if trunk_checkpoint is not None:
            self.load_trunk(trunk_checkpoint, trunk_prefix)
            if decoder_from_trunk_checkpoint:
                self.load_stage1_decoder(trunk_checkpoint, decoder_prefix)

    def check_levels(self,
                     made: Dict[str, List[Tuple[int, int, int]]],
                     where: str = 'Sam3VideoTrackerStudent') -> None:
        """Raise unless the student neck's ``level_branch`` levels (``made``
        from ``neck.level_shapes(grid)``) are those this tracker reads, naming
        the level and both shapes."""
        grid = (self.grid, self.grid)
        read = read_level_shapes(self.heads.config.vision_config, grid,
                                 ('tracker', ))
        got = {'tracker': made[self.level_branch]} \
            if self.level_branch in made else {}
        check_level_shapes(
            got, read, f'{where} at {self.image_size} px (video tracker '
            f"reading the student's {self.level_branch!r} levels)")

    # ------------------------------------------------------------ weights
    def _build_memory_attention(self,
                                num_layers: Optional[int] = None) -> None:
        """Swap SAM3's memory attention for the EdgeTAM RoPE one (keys placed
        by the bank) and load SAM3's weights into it."""
        cfg = self.heads.config
        feat_w, feat_h = cfg.memory_attention_rope_feat_sizes[:2]
        if (feat_h, feat_w) != (self.grid, self.grid):
            raise ValueError('memory_attention_rope_feat_sizes '
                             f'{(feat_w, feat_h)} differ from the trunk '
                             f'grid {self.grid}')
        if not self.memory_bank.key_positions(feat_h, feat_w).numel():
            raise ValueError('the RoPE memory attention needs memory tokens '
                             'with a grid position (2D latents)')
        sam3 = self.heads.memory_attention
        rope = Sam3RoPEMemoryAttention(
            edgetam_memory_attention_config(cfg, num_layers),
            self.memory_bank.key_positions(feat_h, feat_w))
        rope.load_sam3_state_dict(sam3.state_dict(),
                                  'SAM3 tracker memory attention')
        self.heads.memory_attention = rope

    def _freeze_heads(self, prefixes: Sequence[str]) -> None:
        names = [n for n, _ in self.heads.named_parameters()]
        for prefix in prefixes:
            hit = [
                n for n in names if n == prefix or n.startswith(prefix + '.')
            ]
            # nothing is left to freeze in a dropped SAM3 neck
            on_dropped = self.student_levels and (
                'vision_encoder.neck.'.startswith(prefix + '.')
                or prefix.startswith('vision_encoder.neck'))
            if not hit and prefix not in UNUSED_HEAD_PARAMS and \
                    not on_dropped:
                raise KeyError(f'frozen_heads: no parameter under "{prefix}"'
                               f' (e.g. {names[:3]})')
            for name, param in self.heads.named_parameters():
                if name in hit:
                    param.requires_grad_(False)

    @torch.no_grad()
    def sync_bank_from_heads(self) -> None:
        """Copy the tracker's memory temporal encoding and pointer temporal
        projection into the memory bank (same conventions: row.

        ``r`` = ``r``-th most recent frame, last row = conditioning
        frames; pointer distances normalised by ``max_obj_ptrs - 1``).
        """
        bank, heads = self.memory_bank, self.heads
        if hasattr(bank, 'maskmem_tpos_enc'):
            src = heads.memory_temporal_positional_encoding.reshape(
                -1, self.mem_dim)
            dst = bank.maskmem_tpos_enc
            n = min(src.shape[0], dst.shape[0]) - 1
            dst[:n] = src[:n]
            dst[-1] = src[-1]
        proj = heads.temporal_positional_encoding_projection_layer
        if hasattr(bank, 'ptr_tpos_proj') and isinstance(proj, nn.Linear):
            bank.ptr_tpos_proj.load_state_dict(proj.state_dict())

    def load_heads(self, state_dict: Dict[str, Tensor]) -> None:
        """Load the tracker heads strictly (e.g. from the teacher's
        ``heads_state_dict()``), then re-sync the memory bank.

        With a light-neck encoder the SAM3 neck convolutions are not loaded.
        """
        if any(
                k.startswith('memory_attention.layers.') and '.linear1.' in k
                for k in state_dict):  # SAM3 names (the teacher's heads)
            state_dict = sam3_to_edgetam_state_dict(
                state_dict,
                len(self.heads.memory_attention.layers),
                prefix='memory_attention.')
        if self.student_levels:
            state_dict = {
                k: v
                for k, v in state_dict.items()
                if not k.startswith('vision_encoder.neck.')
            }
        result = self.heads.load_state_dict(state_dict, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise RuntimeError(
                'student and teacher tracker heads differ: missing '
                f'{result.missing_keys[:10]} unexpected '
                f'{result.unexpected_keys[:10]}')
        self.apply_carried_decoder()
        self.sync_bank_from_heads()

    def load_stage1_decoder(
            self,
            path: str,
            prefix: str = 'student.heads.tracker.mask_decoder.') -> None:
        """Strictly load the tracker mask decoder trained in Stage 1 and keep
        it so that :meth:`load_heads` (the teacher's copy) does not replace it.

        Raises:
            CheckpointMismatchError: the checkpoint has no key under
                ``prefix`` or its decoder does not match.
        """
        state = extract_state_dict(load_checkpoint_file(path))
        decoder = {
            k[len(prefix):]: v
            for k, v in state.items() if k.startswith(prefix)
        }
        source = f'Stage 1 checkpoint {path} (keys under "{prefix}")'
        load_state_dict_checked(self.heads.mask_decoder, decoder, source)
        self._carried_decoder = {
            k: v.detach().clone()
            for k, v in decoder.items()
        }
        print_log(
            f'tracker mask decoder loaded from {source}', logger='current')

    @torch.no_grad()
    def apply_carried_decoder(self) -> None:
        """Re-load the Stage 1 mask decoder (if one was loaded)."""
        if self._carried_decoder is not None:
            self.heads.mask_decoder.load_state_dict(self._carried_decoder)

    def load_trunk(self, path: str, prefix: str = 'student.trunk.') -> None:
        """Strictly load the encoder from a (Stage 1) checkpoint.

        Keys under ``prefix`` are used (all keys when none has it).

        Raises:
            RuntimeError: naming missing / unexpected / mis-shaped keys.
        """
        if self.trunk is None:
            raise RuntimeError('trunk_checkpoint given but this tracker has '
                               'no encoder of its own (trunk=None)')
        load_student_checkpoint(self.trunk, path, prefix=prefix)
        if isinstance(self.trunk, BaseModule):
            self.trunk._is_init = True  # keep it through init_weights()
        print_log(
            f'student encoder loaded from {path} '
            f'({len(self.trunk.state_dict())} '
            'tensors, strict)',
            logger='current')

    def train(self, mode: bool = True) -> 'Sam3VideoTrackerStudent':
        super().train(mode)
        if self.freeze_trunk and self.trunk is not None:
            self.trunk.eval()
        return self

    # ----------------------------------------------------------- features
    def encode_trunk(self, pixel_values: Tensor) -> Union[Tensor, NeckLevels]:
        """Normalised frames ``[B, 3, S, S]`` -> the encoder output
        (:class:`NeckLevels`, or a trunk map ``[B, C, S/14, S/14]``)."""
        if self.trunk is None:
            raise RuntimeError('this tracker has no encoder of its own '
                               '(trunk=None): pass trunk maps, not pixels')
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.freeze_trunk):
            return self.trunk(pixel_values)

    def frame_features(
            self,
            trunk: Union[Tensor,
                         NeckLevels]) -> Tuple[List[Tensor], List[Tensor]]:
        """The tracker's 3 FPN levels (high-res ones projected by the decoder's
        ``conv_s0`` / ``conv_s1``, as transformers caches them) and their
        position encodings, all ``[B, C_i, H_i, W_i]``: the student's own
        levels, or SAM3's tracker neck on a trunk map (its unread coarsest
        level not computed)."""
        neck = self.heads.vision_encoder.neck
        if isinstance(trunk, NeckLevels):
            fpn = list(trunk.levels(self.level_branch))
        elif self.student_levels:
            raise TypeError('this tracker has no SAM3 neck (light-neck '
                            'student): pass NeckLevels, not a trunk map')
        else:
            if trunk.dim() != 4 or trunk.shape[1] != self.trunk_channels:
                raise ValueError(f'trunk must be [B, {self.trunk_channels}, '
                                 f'h, w], got {tuple(trunk.shape)}')
            fpn = [
                layer(trunk)
                for layer in neck.fpn_layers[:self.num_read_levels]
            ]
        pos = [neck.position_encoding(f.shape, f.device, f.dtype) for f in fpn]
        fpn[0] = self.heads.mask_decoder.conv_s0(fpn[0])
        fpn[1] = self.heads.mask_decoder.conv_s1(fpn[1])
        return fpn, pos

    # -------------------------------------------------------------- state
    def init_state(self) -> dict:
        """Start a new video: empty memory bank, frame counter at 0."""
        self.memory_bank.reset()
        return dict(
            frame_idx=0, num_objects=None, batch_size=None, readout=None)

    def new_track(self) -> dict:
        """An independent tracking state with its own memory bank.

        The bank is a shallow copy of :attr:`memory_bank`: the Perceiver
        weights are shared, the stored memories are not. Pass the result to
        :meth:`track_step`; any number of tracks (objects that start on
        different frames) can run side by side.
        """
        bank = copy.copy(self.memory_bank)
        with self.use_bank(bank):
            state = self.init_state()
        return dict(state=state, bank=bank)

    @contextmanager
    def use_bank(self, bank: nn.Module) -> Iterator[None]:
        """Temporarily make ``bank`` the memory bank :meth:`step` uses."""
        original = self.memory_bank
        self.memory_bank = bank
        try:
            yield
        finally:
            self.memory_bank = original

    def track_step(self,
                   track: dict,
                   frame: Tensor,
                   frame_idx: int,
                   prompt: Optional[dict] = None) -> Tuple[Tensor, Tensor]:
        """:meth:`step` on a track from :meth:`new_track`, at video frame
        ``frame_idx`` (frames may come in any order, e.g. reverse).

        Returns:
            ``(mask_logits [B, N, 4h, 4w], object_score_logits [B, N])``.
        """
        track['state']['frame_idx'] = int(frame_idx)
        with self.use_bank(track['bank']):
            logits, scores, track['state'] = self.step(frame, track['state'],
                                                       prompt)
        return logits, scores

    def _read_memory(self, feats: Tensor, pos: Tensor, memory: Tensor,
                     memory_pos: Tensor, num_frames: int,
                     num_pointer_tokens: int) -> Tensor:
        """Transformers' RoPE memory attention on the compressed bank.

        ``feats``/``pos`` ``[B*, C, h, w]``, ``memory``/``memory_pos``
        ``[B*, Nk, 64]`` (``num_frames`` frames of ``[global latents, 2D
        latents]``, then ``num_pointer_tokens`` pointer tokens) ->
        memory-conditioned map ``[B*, C, h, w]``. 2D latents are rotated at
        their window centres; global latents and pointers are not.
        """
        b, c, h, w = feats.shape
        out = self.heads.memory_attention(
            current_vision_features=feats.flatten(2).permute(2, 0, 1),
            current_vision_position_embeddings=pos.flatten(2).permute(2, 0, 1),
            memory=memory.transpose(0, 1),
            memory_posision_embeddings=memory_pos.transpose(0, 1),
            num_object_pointer_tokens=num_pointer_tokens,
            num_spatial_memory_tokens=num_frames)
        return out.reshape(b, h * w, c).transpose(1, 2).reshape(b, c, h, w)

    def _decode_prompt(self, fpn: List[Tensor], prompt: dict) -> DecodeOutput:
        masks, points, labels = fold_prompt(prompt)
        if masks is not None:
            # mask prompts are taken as the answer (transformers' rule)
            return mask_as_output(self.heads, fpn, masks)
        pix = fpn[2] + self.heads.no_memory_embedding.view(1, -1, 1, 1)
        multimask = self.heads._use_multimask(True, dict(point_labels=labels))
        return sam_decode(
            self.heads,
            fpn[:2] + [pix],
            points,
            labels,
            multimask_output=multimask)

    def step(self,
             frame: Tensor,
             state: dict,
             prompt: Optional[dict] = None) -> Tuple[Tensor, Tensor, dict]:
        """Track one frame.

        Args:
            frame: normalised pixels ``[B, 3, S, S]``, or the encoder's
                output for them (:class:`NeckLevels` or a trunk map
                ``[B, C, S/14, S/14]``, e.g. cached).
            state: from :meth:`init_state` or the previous ``step``.
            prompt: optional ``dict(masks=[B, N, S, S])`` or
                ``dict(points=[B, N, n, 2], labels=[B, N, n])`` and/or
                ``boxes=[B, N, 4]`` (input pixels). Required on the first
                frame; a prompted frame becomes a conditioning memory.

        Returns:
            ``(mask_logits [B, N, 4h, 4w], object_score_logits [B, N],
            state)``; ``state['readout']`` holds the memory-conditioned
            map ``[B*N, C, h, w]`` of a tracked frame (None on prompts).
        """
        is_pixels = isinstance(frame, Tensor) and frame.shape[1] == 3 and \
            frame.shape[-1] == self.image_size
        trunk = self.encode_trunk(frame) if is_pixels else frame
        b = batch_size_of(trunk)
        if prompt is not None:
            n = prompt_num_objects(prompt)
            if state['num_objects'] not in (None, n):
                raise ValueError(f'prompt has {n} objects, the video '
                                 f'tracks {state["num_objects"]}')
            state['num_objects'], state['batch_size'] = n, b
        elif state['num_objects'] is None:
            raise ValueError('the first tracked frame needs a prompt')
        n = state['num_objects']
        if b != state['batch_size']:
            raise ValueError(f'batch size changed from {state["batch_size"]}'
                             f' to {b}')
        fpn, pos = self.frame_features(trunk)
        fpn = [f.repeat_interleave(n, 0) for f in fpn]
        # position encodings may come from transformers' (inference-mode)
        # cache: checkpointing must be able to save them
        pos = [as_autograd_tensor(p.repeat_interleave(n, 0)) for p in pos]
        t = state['frame_idx']
        readout = None
        is_cond = prompt is not None
        if is_cond:
            out = self._decode_prompt(fpn, prompt)
        else:
            memory, memory_pos = self.memory_bank.gather(t)
            counts = (self.memory_bank.num_frames,
                      self.memory_bank.num_pointer_tokens)
            if self.with_cp and torch.is_grad_enabled():
                readout = checkpoint(
                    self._read_memory,
                    fpn[2],
                    pos[2],
                    memory,
                    memory_pos,
                    *counts,
                    use_reentrant=False)
            else:
                readout = self._read_memory(fpn[2], pos[2], memory, memory_pos,
                                            *counts)
            out = sam_decode(
                self.heads,
                fpn[:2] + [readout],
                multimask_output=self.heads._use_multimask(False, None))
        scores = out.object_score_logits.reshape(b * n, 1, 1)
        maskmem, maskmem_pos = self.heads._encode_new_memory(
            current_vision_feats=fpn[2].flatten(2).permute(2, 0, 1),
            pred_masks_high_res=out.high_res_masks,
            object_score_logits=scores,
            is_mask_from_pts=is_cond)
        h, w = fpn[2].shape[-2:]
        maskmem = maskmem.permute(1, 2, 0).reshape(b * n, -1, h, w).float()
        maskmem_pos = as_autograd_tensor(
            maskmem_pos.permute(1, 2, 0).reshape(b * n, -1, h, w).float())
        self.memory_bank.append(
            t,
            maskmem,
            maskmem_pos,
            obj_ptr=out.object_pointer,
            is_cond=is_cond)
        state['frame_idx'] = t + 1
        state['readout'] = readout
        mask_logits = out.pred_masks.reshape(b, n, *out.pred_masks.shape[1:])
        return mask_logits, scores.reshape(b, n), state

    def forward_clip(self,
                     frames: Tensor,
                     first_frame_masks: Tensor,
                     return_readout: bool = False) -> Dict[str, Tensor]:
        """Differentiable tracking of a clip prompted with frame-0 masks.

        Args:
            frames: normalised ``[B, T, 3, S, S]`` (or trunk maps
                ``[B, T, C, h, w]``, or a list of ``T`` encoder outputs,
                e.g. ``NeckLevels.frames``).
            first_frame_masks: ``[B, N, S, S]`` object masks on frame 0.
            return_readout: also return ``memory_readout``
                ``[B, T - 1, N, C, h, w]`` (memory-attention output of every
                tracked frame).

        Returns:
            dict(mask_logits ``[B, T, N, 4h, 4w]`` (``h = S / 14``),
            object_score_logits ``[B, T, N]``[, memory_readout]).
        """
        if isinstance(frames, Tensor):
            b, t = frames.shape[:2]
            per_frame = [frames[:, i] for i in range(t)]
        else:
            per_frame, t = list(frames), len(frames)
            b = batch_size_of(per_frame[0])
        state = self.init_state()
        masks, scores, readouts = [], [], []
        for i in range(t):
            prompt = dict(masks=first_frame_masks) if i == 0 else None
            m, s, state = self.step(per_frame[i], state, prompt)
            masks.append(m)
            scores.append(s)
            if i > 0 and return_readout:
                r = state['readout']
                readouts.append(r.reshape(b, -1, *r.shape[1:]))
        out = dict(
            mask_logits=torch.stack(masks, 1),
            object_score_logits=torch.stack(scores, 1))
        if return_readout:
            out['memory_readout'] = torch.stack(readouts, 1) if readouts \
                else out['mask_logits'].new_zeros(0)
        self.memory_bank.reset()  # drop the graph held by the bank
        return out

    def forward(self,
                frames: Tensor,
                first_frame_masks: Tensor,
                return_readout: bool = False) -> Dict[str, Tensor]:
        """Alias of :meth:`forward_clip`."""
        return self.forward_clip(frames, first_frame_masks, return_readout)
