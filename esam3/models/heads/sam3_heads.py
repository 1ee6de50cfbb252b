# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Everything of SAM3 that comes after the vision trunk, shared by the frozen
teacher and the student.

SAM3 has one ViT trunk and two necks: the detector neck (concept prompts:
text / exemplar boxes -> all instances) and the tracker neck (SAM1-style
interactive prompts: points / boxes / masks -> masks). The transformers
models ``Sam3Model`` and ``Sam3TrackerModel`` each carry a copy of the trunk;
:class:`Sam3Heads` drops both copies and runs the necks and heads on a trunk
feature map ``[B, C, h, w]`` that the caller provides (the teacher's ViT, a
teacher-feature cache, or a student encoder with an alignment head) -- or,
for a light-neck student, on the FPN levels the student makes itself
(:class:`~esam3.models.necks.NeckLevels`); SAM3's neck convolutions are then
dropped. Either way only the levels a head reads are computed: SAM3's necks
make four levels (4g, 2g, g, g/2 for the token grid g) and every head reads
the first three (``fpn[:-1]`` in transformers).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn
from transformers import (Sam3Config, Sam3Model, Sam3TrackerConfig,
                          Sam3TrackerModel)
from transformers.models.sam3.modeling_sam3 import Sam3VisionEncoderOutput

from esam3.registry import MODELS
from ..hf_builder import build_hf_model
from ..necks.neck_levels import NeckLevels
from ..utils.param_prefix import params_under

__all__ = [
    'Sam3Heads', 'build_sam3_models', 'check_level_shapes', 'read_level_shapes'
]

Features = Union[Tensor, NeckLevels]
LevelShapes = Dict[str, List[Tuple[int, int, int]]]


def read_level_shapes(vision_config, grid: Tuple[int, int],
                      branches: Sequence[str]) -> LevelShapes:
    """``{branch: [(C, h, w), ...]}`` of the FPN levels SAM3's heads read (all
    neck levels but the last) for the trunk grid ``grid``."""
    scales = list(vision_config.scale_factors)[:-1]
    c = int(vision_config.fpn_hidden_size)
    return {
        name: [(c, int(grid[0] * s), int(grid[1] * s)) for s in scales]
        for name in branches
    }


def check_level_shapes(made: LevelShapes, read: LevelShapes,
                       where: str) -> None:
    """Raise if a student neck's levels are not those the heads read.

    Raises:
        ValueError: naming the SAM3 neck, the level and both shapes.
    """
    for name, want in read.items():
        if name not in made:
            raise ValueError(f'{where}: the student neck makes no levels for '
                             f'the SAM3 {name} neck (it makes '
                             f'{sorted(made)}); the {name} heads read '
                             f'{want}')
        got = made[name]
        if len(got) != len(want):
            raise ValueError(f'{where}: the SAM3 {name} heads read '
                             f'{len(want)} levels {want}, the student neck '
                             f'makes {len(got)} {got}')
        for i, (g, w) in enumerate(zip(got, want)):
            if tuple(g) != tuple(w):
                raise ValueError(
                    f'{where}: {name} level {i}: the student neck makes '
                    f'(C, h, w) = {tuple(g)}, the SAM3 {name} heads read '
                    f'{tuple(w)}')


def drop_neck_convs(vision_encoder: nn.Module) -> None:
    """Remove a SAM3 vision encoder's FPN convolutions (a light-neck student
    makes the levels itself); the parameter-free position encoding stays."""
    vision_encoder.neck.fpn_layers = nn.ModuleList()


def _tracker_config_from(detector_cfg: Sam3Config,
                         overrides: Optional[dict] = None) -> dict:
    """A tracker config whose vision part matches the detector's."""
    vision = detector_cfg.vision_config
    vit = vision.backbone_config
    image_size = vit.image_size if isinstance(vit.image_size, int) \
        else vit.image_size[0]
    patch = vit.patch_size if isinstance(vit.patch_size, int) \
        else vit.patch_size[0]
    overrides = dict(overrides or {})
    prompt = dict(
        hidden_size=vision.fpn_hidden_size,
        image_size=image_size,
        patch_size=patch)
    prompt.update(overrides.pop('prompt_encoder_config', {}))
    mask_dec = dict(hidden_size=vision.fpn_hidden_size)
    mask_dec.update(overrides.pop('mask_decoder_config', {}))
    cfg = dict(
        vision_config=vision.to_dict(),
        prompt_encoder_config=prompt,
        mask_decoder_config=mask_dec)
    cfg.update(overrides)
    return cfg


def _split_sam3_pretrained(
        pretrained: Union[str, Dict[str, str]]) -> Tuple[str, str]:
    """Where the detector and the tracker weights live.

    Accepts ``dict(detector=..., tracker=...)``, a local folder holding
    ``detector/`` and ``tracker/`` sub-folders (each a ``save_pretrained``
    folder), or one folder / hub id that serves both (the official
    ``facebook/sam3`` layout, from which transformers maps both models).
    """
    if isinstance(pretrained, dict):
        if set(pretrained) != {'detector', 'tracker'}:
            raise KeyError('pretrained dict needs exactly the keys '
                           "'detector' and 'tracker', got "
                           f'{sorted(pretrained)}')
        return pretrained['detector'], pretrained['tracker']
    path = osp.expanduser(pretrained)
    subs = [osp.join(path, name) for name in ('detector', 'tracker')]
    if all(osp.isdir(sub) for sub in subs):
        return subs[0], subs[1]
    return pretrained, pretrained


def build_sam3_models(
        pretrained: Optional[Union[str, Dict[str, str]]] = None,
        config: Optional[dict] = None) -> Tuple[Sam3Model, Sam3TrackerModel]:
    """Build the SAM3 detector and tracker from weights or a config dict.

    Args:
        pretrained: hub id or local folder holding SAM3 weights. One folder
            serves ``Sam3Model`` and ``Sam3TrackerModel`` (official layout);
            a local folder with ``detector/`` and ``tracker/`` sub-folders
            (two ``save_pretrained`` outputs: both write ``config.json`` so
            they cannot share one folder) or
            ``dict(detector=path, tracker=path)`` also work.
        config: dict with the ``Sam3Config`` kwargs, plus an optional
            ``tracker_config`` dict of ``Sam3TrackerConfig`` overrides
            (``mask_decoder_config``, ``prompt_encoder_config``).
    """
    if config is not None:
        config = dict(config)
        tracker_overrides = config.pop('tracker_config', None)
        detector = build_hf_model(Sam3Model, Sam3Config, config=config)
        tracker_cfg = _tracker_config_from(detector.config, tracker_overrides)
        tracker = build_hf_model(
            Sam3TrackerModel, Sam3TrackerConfig, config=tracker_cfg)
    else:
        if pretrained is None:
            raise ValueError('build_sam3_models: give pretrained or config')
        det_path, trk_path = _split_sam3_pretrained(pretrained)
        detector = build_hf_model(Sam3Model, Sam3Config, pretrained=det_path)
        tracker = build_hf_model(
            Sam3TrackerModel, Sam3TrackerConfig, pretrained=trk_path)
    return detector, tracker


@MODELS.register_module()
class Sam3Heads(BaseModule):
    """SAM3 necks + heads on a given trunk feature map.

    Args:
        detector: a ``Sam3Model``; its ViT trunk is removed.
        tracker: a ``Sam3TrackerModel``; its ViT trunk is removed.
        frozen: name prefixes (relative to this module) whose parameters get
            ``requires_grad=False``, e.g. ``['detector.text_encoder']``.
        student_levels: the encoder makes the FPN levels itself (a
            light-neck student): SAM3's neck convolutions are dropped and
            the heads take :class:`~esam3.models.necks.NeckLevels`.
        text_encoder: a light text encoder (e.g.
            :class:`~esam3.models.text.Sam3LiteTextStudent`) with
            ``text_encoder`` and ``text_projection`` sub-modules that
            replace SAM3's CLIP text encoder and projection in the detector
            (the ``Sam3LiteTextModel`` layout). Teacher weights are then
            not copied into them (:meth:`state_dict_from`) and a teacher
            never shares them.
        detr_encoder_pool: the DETR encoder (and through it the DETR
            decoder's cross-attention and the segmentation head's coarsest
            input) reads the coarsest detector level average-pooled by this
            factor: 2 gives 36x36 tokens at 1008 px instead of 72x72 (a
            light detector, distilled in Stage 3). Defaults to 1 (SAM3).
        detr_encoder_layers: keep only the first this many DETR encoder
            layers (the others are removed; their teacher weights are not
            copied). ``None`` keeps all (SAM3: 6).
    """

    #: where SAM3's neck convolutions live (dropped with ``student_levels``)
    NECKS = {
        'detector': 'detector.vision_encoder.neck',
        'tracker': 'tracker.vision_encoder.neck'
    }

    def __init__(self,
                 detector: Sam3Model,
                 tracker: Sam3TrackerModel,
                 frozen: Sequence[str] = (),
                 student_levels: bool = False,
                 text_encoder: Optional[nn.Module] = None,
                 detr_encoder_pool: int = 1,
                 detr_encoder_layers: Optional[int] = None) -> None:
        super().__init__()
        vit_cfg = detector.config.vision_config.backbone_config
        self.patch_size = int(
            vit_cfg.patch_size if isinstance(vit_cfg.patch_size, int
                                             ) else vit_cfg.patch_size[0])
        self.image_size = int(
            vit_cfg.image_size if isinstance(vit_cfg.image_size, int
                                             ) else vit_cfg.image_size[0])
        self.trunk_channels = int(vit_cfg.hidden_size)
        # The trunk lives outside (teacher ViT or student encoder).
        detector.vision_encoder.backbone = None
        tracker.vision_encoder.backbone = None
        self.vision_config = detector.config.vision_config
        self.num_read_levels = len(self.vision_config.scale_factors) - 1
        self.student_levels = bool(student_levels)
        if student_levels:
            drop_neck_convs(detector.vision_encoder)
            drop_neck_convs(tracker.vision_encoder)
        self.detr_encoder_pool = int(detr_encoder_pool)
        if self.detr_encoder_pool < 1:
            raise ValueError('detr_encoder_pool must be >= 1, got '
                             f'{detr_encoder_pool}')
        layers = detector.detr_encoder.layers
        self.removed_detr_layers: Tuple[str, ...] = ()
        if detr_encoder_layers is not None:
            n = int(detr_encoder_layers)
            if not 1 <= n <= len(layers):
                raise ValueError(f'detr_encoder_layers must be 1..'
                                 f'{len(layers)} (SAM3 has {len(layers)}), '
                                 f'got {detr_encoder_layers}')
            self.removed_detr_layers = tuple(
                f'detector.detr_encoder.layers.{i}'
                for i in range(n, len(layers)))
            detector.detr_encoder.layers = nn.ModuleList(list(layers)[:n])
        self.own_text_encoder = text_encoder is not None
        if text_encoder is not None:
            detector.text_encoder = text_encoder.text_encoder
            detector.text_projection = text_encoder.text_projection
        self.detector = detector
        self.tracker = tracker
        self.frozen = tuple(frozen)
        self.freeze(frozen)

    @property
    def dropped_prefixes(self) -> Tuple[str, ...]:
        """Parameter prefixes of SAM3 modules this student does not have."""
        necks = tuple(self.NECKS.values()) if self.student_levels else ()
        return necks + self.removed_detr_layers

    #: SAM3's text modules, replaced with ``text_encoder``
    TEXT = ('detector.text_encoder', 'detector.text_projection')

    @property
    def replaced_prefixes(self) -> Tuple[str, ...]:
        """Prefixes of SAM3 modules this student replaced with its own."""
        return self.TEXT if self.own_text_encoder else ()

    def state_dict_from(self, state: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """A SAM3 heads state dict (e.g. the teacher's) without the parameters
        of modules this student dropped; modules it replaced (a light text
        encoder) keep their own weights."""
        drop = tuple(p + '.' for p in self.dropped_prefixes)
        out = {k: v for k, v in state.items() if not k.startswith(drop)}
        if self.replaced_prefixes:
            own = tuple(p + '.' for p in self.replaced_prefixes)
            out = {k: v for k, v in out.items() if not k.startswith(own)}
            out.update({
                k: v
                for k, v in self.state_dict().items() if k.startswith(own)
            })
        return out

    def read_level_shapes(self, grid: Tuple[int, int]) -> LevelShapes:
        """Levels the tracker and detector heads read at ``grid``."""
        return read_level_shapes(self.vision_config, grid,
                                 ('tracker', 'detector'))

    # ------------------------------------------------------------------ utils
    def freeze(self, prefixes: Sequence[str]) -> None:
        """Stop gradients for parameters whose name starts with a prefix."""
        names = [n for n, _ in self.named_parameters()]
        for prefix in prefixes:
            hit = params_under(self, prefix)
            for param in hit:
                param.requires_grad_(False)
            if not hit and not self._is_dropped(prefix):
                raise KeyError(f'Sam3Heads.freeze: no parameter under '
                               f'"{prefix}" (e.g. {names[:3]})')

    def _is_dropped(self, prefix: str) -> bool:
        """``prefix`` names a dropped SAM3 neck, a module inside one, or a
        module whose only parameters were a dropped neck's (nothing is left to
        freeze there)."""
        for d in self.dropped_prefixes:
            if prefix == d or prefix.startswith(d + '.') or \
                    d.startswith(prefix + '.'):
                return True
        return False

    def frozen_modules(self) -> List[Tuple[str, nn.Module]]:
        """The sub-modules named by ``frozen`` (prefixes naming a single
        parameter, e.g. ``tracker.no_memory_embedding``, are left out)."""
        out = []
        for prefix in self.frozen:
            try:
                out.append((prefix, self.get_submodule(prefix)))
            except AttributeError:
                continue
        return out

    def shareable_frozen_modules(self) -> List[Tuple[str, nn.Module]]:
        """:meth:`frozen_modules` a teacher may use in place of its own: a
        frozen module holding a dropped SAM3 neck (light-neck student) is split
        into its children, and the neck itself is left out (the teacher keeps
        its own neck, which the student does not have)."""
        out = []

        def visit(name: str, module: nn.Module) -> None:
            if name in self.dropped_prefixes or any(
                    name == r or name.startswith(r + '.')
                    for r in self.replaced_prefixes):
                return  # the teacher keeps its own (e.g. its CLIP)
            if any(
                    d.startswith(name + '.')
                    for d in self.dropped_prefixes + self.replaced_prefixes):
                for child, sub in module.named_children():
                    visit(f'{name}.{child}', sub)
                return
            out.append((name, module))

        for name, module in self.frozen_modules():
            visit(name, module)
        return out

    def train(self, mode: bool = True) -> 'Sam3Heads':
        """Set the mode; frozen sub-modules always stay in eval mode (as
        OpenMMLab backbones keep frozen stages), so a frozen part computes the
        same function in training as in evaluation and can be shared with the
        teacher (see ``BaseDistiller.share_frozen_heads``)."""
        super().train(mode)
        for _, module in self.frozen_modules():
            module.eval()
        return self

    @property
    def grid_size(self) -> int:
        """Trunk tokens per side (72 at 1008 px with patch 14)."""
        return self.image_size // self.patch_size

    def _check_trunk(self, trunk: Tensor) -> None:
        if trunk.dim() != 4 or trunk.shape[1] != self.trunk_channels:
            raise ValueError(
                f'Sam3Heads expects a trunk map [B, {self.trunk_channels}, '
                f'h, w], got {tuple(trunk.shape)}')

    def _neck(self, branch: str) -> nn.Module:
        return getattr(self, branch).vision_encoder.neck

    # --------------------------------------------------------------- features
    def neck_levels(self, features: Features, branch: str) -> List[Tensor]:
        """The levels of SAM3 neck ``branch`` that its heads read (finest
        first, ``[B, C, H_l, W_l]``): SAM3's neck on a trunk map (its last,
        unread level is not computed), or the student's own levels."""
        if isinstance(features, NeckLevels):
            levels = features.levels(branch)
            c = int(self.vision_config.fpn_hidden_size)
            if len(levels) != self.num_read_levels or any(lv.shape[1] != c
                                                          for lv in levels):
                raise ValueError(
                    f'the SAM3 {branch} heads read {self.num_read_levels} '
                    f'levels of {c} channels, the student made '
                    f'{[tuple(lv.shape) for lv in levels]}')
            return levels
        if self.student_levels:
            raise TypeError('these heads have no SAM3 neck (light-neck '
                            'student): pass NeckLevels, not a trunk map')
        self._check_trunk(features)
        layers = self._neck(branch).fpn_layers[:self.num_read_levels]
        return [layer(features) for layer in layers]

    def position_encodings(self, levels: Sequence[Tensor],
                           branch: str) -> List[Tensor]:
        """SAM3's sine position encoding of each level."""
        pe = self._neck(branch).position_encoding
        return [pe(lv.shape, lv.device, lv.dtype) for lv in levels]

    def detector_features(self, features: Features) -> Sam3VisionEncoderOutput:
        """Detector levels -> ``Sam3Model``'s ``vision_embeds``.

        transformers
        drops the last FPN entry (``fpn[:-1]``), so an empty placeholder
        stands in for SAM3's unread coarsest level.
        """
        fpn = self.neck_levels(features, 'detector')
        if self.detr_encoder_pool > 1:  # light detector: fewer DETR tokens
            fpn = list(fpn)
            fpn[-1] = F.avg_pool2d(fpn[-1], self.detr_encoder_pool)
        pos = self.position_encodings(fpn, 'detector')
        empty = fpn[-1].new_zeros(fpn[-1].shape[:2] + (0, 0))
        trunk = features if isinstance(features, Tensor) else None
        return Sam3VisionEncoderOutput(
            last_hidden_state=None
            if trunk is None else trunk.flatten(2).transpose(1, 2),
            fpn_hidden_states=tuple(fpn) + (empty, ),
            fpn_position_encoding=tuple(pos) + (empty, ))

    def tracker_fpn(self,
                    features: Features) -> Tuple[List[Tensor], List[Tensor]]:
        """Tracker levels: 3 maps ``[B, C_i, H_i, W_i]`` (high-res levels
        already projected by the mask decoder's conv_s0/conv_s1, as the
        tracker caches them) and their position encodings."""
        fpn = self.neck_levels(features, 'tracker')
        pos = self.position_encodings(fpn, 'tracker')
        fpn = list(fpn)
        fpn[0] = self.tracker.mask_decoder.conv_s0(fpn[0])
        fpn[1] = self.tracker.mask_decoder.conv_s1(fpn[1])
        return fpn, pos

    def tracker_image_embeddings(self, features: Features) -> List[Tensor]:
        """Image-mode tracker embeddings (no memory): the input that
        ``Sam3TrackerModel.forward(image_embeddings=...)`` takes."""
        fpn, _ = self.tracker_fpn(features)
        no_mem = self.tracker.no_memory_embedding.view(1, -1, 1, 1)
        fpn[-1] = fpn[-1] + no_mem
        return fpn

    # --------------------------------------------------------------- decoding
    def decode_prompts(self,
                       image_embeddings: List[Tensor],
                       points: Optional[Tensor] = None,
                       labels: Optional[Tensor] = None,
                       boxes: Optional[Tensor] = None,
                       masks: Optional[Tensor] = None,
                       multimask_output: bool = False):
        """Interactive (SAM1-style) decoding.

        Args:
            image_embeddings: from :meth:`tracker_image_embeddings`.
            points: ``[B, P, n, 2]`` xy in input pixels (padded image).
            labels: ``[B, P, n]``: 1 positive, 0 negative, 2/3 box corners,
                -10 padding.
            boxes: ``[B, P, 4]`` xyxy in input pixels.
            masks: ``[B, P, H, W]`` mask-logit prompts (optional).
            multimask_output: 3 masks per prompt instead of 1.

        Returns:
            transformers ``Sam3TrackerImageSegmentationOutput`` with
            ``pred_masks [B, P, K, 4h, 4w]`` logits, ``iou_scores [B, P, K]``
            and ``object_score_logits [B, P, 1]``.
        """
        if points is None and boxes is None and masks is None:
            raise ValueError('decode_prompts needs points, boxes or masks')
        if points is not None and labels is None:
            raise ValueError('decode_prompts: points given without labels')
        if masks is not None and masks.dim() == 4:
            b, p = masks.shape[:2]
            masks = masks.flatten(0, 1).unsqueeze(1)
            if b * p != image_embeddings[-1].shape[0]:
                raise ValueError('mask prompts need one prompt per image '
                                 f'(got B={b}, P={p})')
        return self.tracker(
            image_embeddings=image_embeddings,
            input_points=points,
            input_labels=labels,
            input_boxes=boxes,
            input_masks=masks,
            multimask_output=multimask_output)

    def text_features(self, input_ids: Tensor, attention_mask: Tensor):
        """Encode token ids once; reusable across images (``text_embeds``)."""
        return self.detector.get_text_features(
            input_ids=input_ids,
            attention_mask=attention_mask,
            return_dict=True)

    def decode_concepts(self,
                        vision_embeds: Sam3VisionEncoderOutput,
                        input_ids: Optional[Tensor] = None,
                        attention_mask: Optional[Tensor] = None,
                        text_embeds=None,
                        input_boxes: Optional[Tensor] = None,
                        input_boxes_labels: Optional[Tensor] = None):
        """Promptable concept segmentation (text and/or exemplar boxes).

        ``input_boxes`` are normalised cxcywh ``[B, N, 4]``; labels 1
        positive, 0 negative, -10 padding. Returns transformers'
        ``Sam3ImageSegmentationOutput`` (``pred_masks``, ``pred_boxes``,
        ``pred_logits``, ``presence_logits``, ``semantic_seg``).
        """
        return self.detector(
            vision_embeds=vision_embeds,
            input_ids=input_ids,
            attention_mask=attention_mask,
            text_embeds=text_embeds,
            input_boxes=input_boxes,
            input_boxes_labels=input_boxes_labels)
