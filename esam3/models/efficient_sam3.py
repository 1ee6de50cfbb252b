# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""The esam3 student: a light encoder (+ light neck) + SAM3 heads."""
from typing import Optional, Sequence, Union

from mmengine.logging import print_log
from torch import Tensor

from esam3.registry import MODELS
from esam3.utils.checkpoint import (extract_state_dict, load_checkpoint_file,
                                    load_state_dict_checked, strip_prefix)
from .heads.sam3_heads import Sam3Heads, build_sam3_models, check_level_shapes
from .necks.neck_levels import NeckLevels
from .sam3_promptable import Sam3Promptable
from .utils.param_prefix import params_under


@MODELS.register_module()
class EfficientSAM3(Sam3Promptable):
    """Student model answering the same prompts as SAM3.

    ``trunk`` (a :class:`~esam3.models.student_trunk.StudentTrunk`: timm
    backbone + neck) either makes the FPN levels SAM3's heads read
    (:class:`~esam3.models.necks.Sam3LightFPN`, the default: SAM3's necks
    are dropped, and each neck's levels are computed only when a head of
    that neck runs) or imitates the SAM3 ViT output ``[B, C, S/14, S/14]``
    (:class:`~esam3.models.necks.Sam3AlignHead`: SAM3's own necks run on
    it). The heads start from SAM3 weights: from ``sam3.pretrained`` for
    real weights, or copied from the teacher by the distiller (tiny random
    test teachers). A light neck whose levels differ from what the heads
    read (count, channels, sizes at SAM3's input size) fails here, naming
    the level and both shapes.

    Args:
        trunk: config of the student encoder + alignment head.
        sam3: ``dict(pretrained=...)`` or ``dict(config=...)`` describing the
            SAM3 heads (same as the teacher's).
        frozen_heads: name prefixes of :class:`Sam3Heads` parameters to
            freeze (e.g. the text encoder).
        freeze_trunk: freeze the whole encoder (Stage 2/3 default).
        trunk_trainable: with ``freeze_trunk``, encoder parameter-name
            prefixes that still train, e.g. ``'neck.outputs.detector'`` (the
            light neck's concept levels, which only the detector reads) or
            ``['backbone', 'neck']`` (all of it). The encoder stays in eval
            mode, so its batch-norm statistics stay fixed; parameters not
            named stay frozen.
        video: optional config of a video tracker with a compressed memory
            (:class:`~esam3.models.trackers.Sam3VideoTrackerStudent` with
            ``trunk=None``): it tracks on this model's encoder output, so
            concept detections can be propagated through video (Stage 3 on
            clips, video concept inference).
        stage2_checkpoint: a Stage 2 checkpoint to start from, loaded
            strictly: its ``student.trunk.*`` into the encoder and the rest of
            its ``student.*`` (tracker heads, Perceiver memory) into
            ``video``.
        text_student: optional config of a light text encoder
            (:class:`~esam3.models.text.Sam3LiteTextStudent`, e.g. distilled
            by :class:`~esam3.models.TextDistiller` and loaded with its
            ``pretrained=``) replacing SAM3's CLIP text encoder and
            projection in the concept heads. Its output width must be the
            DETR width. ``None`` (default) keeps SAM3's CLIP.
        detr_encoder_pool / detr_encoder_layers: a light detector (see
            :class:`~esam3.models.heads.Sam3Heads`): the DETR encoder on
            the coarsest detector level average-pooled by this factor (2:
            36x36 tokens at 1008 px) and / or with fewer layers. Defaults
            keep SAM3's (1, all 6).
        decoder_from_stage2: with ``stage2_checkpoint``, also start the
            image tracker's mask decoder (geometric prompts) from the Stage 2
            tracker's (itself Stage 1's, fine-tuned on video) instead of the
            teacher's copy: SAM3 shares one tracker decoder between images
            and video. Re-applied after the distiller copies the teacher's
            heads. Shapes must match (they do for real SAM3 weights).
    """

    def __init__(self,
                 trunk: dict,
                 sam3: dict,
                 frozen_heads: Sequence[str] = (),
                 freeze_trunk: bool = False,
                 trunk_trainable: Sequence[str] = (),
                 video: Optional[dict] = None,
                 stage2_checkpoint: Optional[str] = None,
                 decoder_from_stage2: bool = True,
                 text_student: Optional[dict] = None,
                 detr_encoder_pool: int = 1,
                 detr_encoder_layers: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.trunk = MODELS.build(trunk)
        detector, tracker = build_sam3_models(**sam3)
        levels = bool(getattr(self.trunk, 'makes_levels', False))
        text = None
        if text_student is not None:
            text = MODELS.build(text_student)
            width = int(detector.config.detr_encoder_config.hidden_size)
            if text.out_channels != width:
                raise ValueError(
                    f'EfficientSAM3.text_student projects to '
                    f'{text.out_channels} channels, the SAM3 concept heads '
                    f'read {width} (set text_student.out_channels)')
        self.heads = Sam3Heads(
            detector,
            tracker,
            frozen=frozen_heads,
            student_levels=levels,
            text_encoder=text,
            detr_encoder_pool=detr_encoder_pool,
            detr_encoder_layers=detr_encoder_layers)
        if levels:
            grid = (self.heads.grid_size, self.heads.grid_size)
            check_level_shapes(
                self.trunk.neck.level_shapes(grid),
                self.heads.read_level_shapes(grid),
                f'EfficientSAM3 at {self.heads.image_size} '
                'px')
        self.video = None
        self.decoder_from_stage2 = decoder_from_stage2
        # carried tracker mask decoder (plain attribute, not in state_dict)
        self._carried_decoder = None
        if video is not None:
            video = dict(video)
            if video.get('trunk') is not None:
                raise ValueError('EfficientSAM3.video shares the student '
                                 'encoder: give it trunk=None')
            video['trunk'] = None
            video['student_levels'] = levels
            self.video = MODELS.build(video)
            if levels:
                self.video.check_levels(
                    self.trunk.neck.level_shapes(
                        (self.video.grid, self.video.grid)), 'EfficientSAM3')
        self.freeze_trunk = freeze_trunk
        if trunk_trainable and not freeze_trunk:
            raise ValueError('EfficientSAM3: trunk_trainable names the '
                             'encoder parts that train while the rest is '
                             'frozen; it needs freeze_trunk=True')
        if freeze_trunk:
            self.trunk.requires_grad_(False)
            self.trunk.eval()
            self._unfreeze(trunk_trainable)
        if stage2_checkpoint is not None:
            self.load_stage2(stage2_checkpoint)

    def _unfreeze(self, prefixes: Sequence[str]) -> None:
        """``requires_grad=True`` for the encoder parameters under each
        prefix.

        Raises:
            KeyError: for a prefix that names no encoder parameter.
        """
        for prefix in prefixes:
            hit = params_under(self.trunk, prefix)
            if not hit:
                names = [n for n, _ in self.trunk.named_parameters()]
                raise KeyError(
                    f'EfficientSAM3.trunk_trainable: {prefix!r} names no '
                    f'encoder parameter (e.g. {names[-3:]})')
            for p in hit:
                p.requires_grad_(True)

    def load_stage2(self, path: str) -> None:
        """Strictly load a Stage 2 checkpoint (see ``stage2_checkpoint``).

        Raises:
            CheckpointMismatchError: naming the missing / unexpected keys of
                the encoder or of the video tracker.
        """
        if self.video is None:
            raise ValueError('stage2_checkpoint needs a video tracker '
                             '(EfficientSAM3.video)')
        state = strip_prefix(
            extract_state_dict(load_checkpoint_file(path)), 'student.')
        trunk = strip_prefix(
            {
                k: v
                for k, v in state.items() if k.startswith('trunk.')
            }, 'trunk.')
        video = {k: v for k, v in state.items() if not k.startswith('trunk.')}
        for module, sd, what in ((self.trunk, trunk, 'encoder'),
                                 (self.video, video, 'video tracker')):
            load_state_dict_checked(module, sd,
                                    f'Stage 2 checkpoint {path} ({what})')
            module._is_init = True  # keep the weights through init_weights()
        print_log(
            f'Stage 2 checkpoint {path} loaded (encoder + video '
            'tracker, strict)',
            logger='current')
        if self.decoder_from_stage2:
            decoder = strip_prefix(
                {
                    k: v
                    for k, v in video.items()
                    if k.startswith('heads.mask_decoder.')
                }, 'heads.mask_decoder.')
            load_state_dict_checked(
                self.heads.tracker.mask_decoder, decoder,
                f'Stage 2 checkpoint {path} (tracker mask decoder for the '
                'image tracker; decoder_from_stage2=False keeps the '
                "teacher's)")
            self._carried_decoder = {
                k: v.detach().clone()
                for k, v in decoder.items()
            }

    def carried_modules(self) -> list:
        """Names (in ``heads``) of modules holding carried weights."""
        return ['tracker.mask_decoder'] if self._carried_decoder else []

    def apply_carried_decoder(self) -> None:
        """Re-load the carried Stage 2 tracker mask decoder (if any) into the
        image tracker, e.g. after the teacher's heads were copied."""
        if self._carried_decoder is not None:
            self.heads.tracker.mask_decoder.load_state_dict(
                self._carried_decoder)

    def train(self, mode: bool = True) -> 'EfficientSAM3':
        super().train(mode)
        if self.freeze_trunk:
            self.trunk.eval()
        return self

    def encode_trunk(self, pixel_values: Tensor) -> Union[Tensor, NeckLevels]:
        """Encode images: the trunk-like map (trunk mode) or the lazily
        computed FPN levels (light neck), both accepted by the heads."""
        return self.trunk(pixel_values)
