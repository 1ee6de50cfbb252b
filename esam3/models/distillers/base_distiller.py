# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Shared plumbing of the esam3 distillers: a trainable student and a frozen
teacher that is invisible to ``state_dict()``, ``parameters()`` and
therefore to checkpoints and optimisers."""
from typing import List, Optional, Tuple

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from esam3.registry import MODELS
from ..heads.sam3_heads import Sam3Heads


def as_bool_masks(masks, device) -> Tensor:
    """Mmdet ``BitmapMasks``, a tensor or an array -> bool tensor."""
    if hasattr(masks, 'to_tensor'):
        return masks.to_tensor(torch.bool, device)
    return torch.as_tensor(masks, device=device).bool()


def check_predict_with(predict_with: str, teacher) -> str:
    """Validate a distiller's ``predict_with`` (``'student'`` or ``'teacher'``;
    the latter needs a teacher)."""
    if predict_with not in ('student', 'teacher'):
        raise ValueError("predict_with must be 'student' or 'teacher', got "
                         f'{predict_with!r}')
    if predict_with == 'teacher' and teacher is None:
        raise ValueError("predict_with='teacher' needs a teacher config")
    return predict_with


class BaseDistiller(BaseModel):
    """Holds ``self.student`` (a registered sub-module) and ``self.teacher``
    (attached with ``object.__setattr__``, like mmdet's KD detectors, so it is
    not a sub-module).

    Args:
        student: student config (or module).
        teacher: teacher config (or module); None for stages that only need
            cached teacher outputs.
        data_preprocessor: config of the data preprocessor.
        init_student_heads_from_teacher: copy the teacher's SAM3 heads into
            the student's (needed for random test teachers; a no-op cost for
            real weights, where both come from the same checkpoint).
        share_frozen_heads: after that copy, let the teacher use the
            student's frozen SAM3 head modules (e.g. the 354M-parameter
            text encoder in Stage 3, the whole detector in Stage 1) instead
            of holding a second, identical copy. Only modules the student
            never trains are shared; they stay in eval mode.
    """

    def __init__(self,
                 student: dict,
                 teacher: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_student_heads_from_teacher: bool = True,
                 init_cfg: Optional[dict] = None,
                 share_frozen_heads: bool = True) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = student if isinstance(student, nn.Module) \
            else MODELS.build(student)
        teacher_module = None
        if teacher is not None:
            teacher_module = teacher if isinstance(teacher, nn.Module) \
                else MODELS.build(teacher)
            teacher_module.requires_grad_(False)
            teacher_module.eval()
        object.__setattr__(self, 'teacher', teacher_module)
        if teacher_module is not None and init_student_heads_from_teacher \
                and hasattr(self.student, 'heads'):
            self.copy_teacher_heads()
            if share_frozen_heads:
                self.share_frozen_heads()

    @torch.no_grad()
    def copy_teacher_heads(self) -> None:
        """Initialise the student's SAM3 heads from the teacher's, strictly
        (the two must describe the same SAM3 head architecture; the SAM3 neck
        convolutions a light-neck student dropped are not copied)."""
        heads = self.student.heads
        state = self.teacher.heads.state_dict()
        if hasattr(heads, 'state_dict_from'):  # a light-neck student has
            state = heads.state_dict_from(state)  # no SAM3 neck convs
        result = heads.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise RuntimeError(
                'student and teacher SAM3 heads differ: missing '
                f'{result.missing_keys[:10]} unexpected '
                f'{result.unexpected_keys[:10]}')
        # a decoder trained in an earlier stage wins over the teacher's
        carried = getattr(self.student, 'apply_carried_decoder', None)
        if carried is not None:
            carried()

    def share_frozen_heads(self) -> List[str]:
        """Point the teacher's SAM3 head modules that the student keeps frozen
        at the student's copies (identical right after
        :meth:`copy_teacher_heads`), so they are held once in memory.

        The teacher stays out of ``state_dict()``; the student's checkpoint
        still holds its frozen modules. Loading another student checkpoint
        into a running distiller would change the shared modules for both
        (frozen modules of a checkpoint of the same run are unchanged).

        Returns:
            list[str]: The shared module names (relative to ``heads``).
        """
        student = getattr(self.student, 'heads', None)
        teacher = getattr(self.teacher, 'heads', None)
        if not isinstance(student, Sam3Heads) or \
                not isinstance(teacher, Sam3Heads):
            return []
        shared = []
        # modules holding weights carried from an earlier stage differ from
        # the teacher's: the teacher keeps its own copy of those
        carried = getattr(self.student, 'carried_modules', lambda: [])()
        # a light-neck student has no SAM3 neck convs: the teacher keeps
        # its own necks (shareable_frozen_modules leaves them out)
        for name, module in student.shareable_frozen_modules():
            if any(p.requires_grad for p in module.parameters()):
                continue
            if any(c == name or c.startswith(name +
                                             '.') or name.startswith(c + '.')
                   for c in carried):
                continue
            parent_name, _, leaf = name.rpartition('.')
            parent = teacher.get_submodule(parent_name) if parent_name \
                else teacher
            setattr(parent, leaf, module)
            shared.append(name)
        return shared

    def teacher_trunk(self, inputs: Tensor, data_samples) -> Tensor:
        """Teacher trunk maps: from ``data_sample.teacher_trunk`` when a
        feature cache filled every sample, else from the live teacher."""
        cached = [getattr(ds, 'teacher_trunk', None) for ds in data_samples]
        if all(c is not None for c in cached):
            return torch.stack(
                [c.to(inputs.device, torch.float32) for c in cached])
        if self.teacher is None:
            raise RuntimeError('no teacher and no cached teacher features')
        return self.teacher.encode_trunk(inputs)

    @staticmethod
    def gt_masks(ds, device) -> Tensor:
        """GT instance masks of a packed sample as bool ``[N, S, S]``."""
        return as_bool_masks(ds.gt_instances.masks, device)

    @staticmethod
    def gt_masks_boxes(ds, device) -> Tuple[Tensor, Tensor]:
        """GT instance masks (bool ``[N, S, S]``) and xyxy boxes (float ``[N,
        4]``, input pixels) of a packed sample as tensors."""
        inst = ds.gt_instances
        masks = BaseDistiller.gt_masks(ds, device)
        boxes = inst.bboxes
        boxes = boxes.tensor if hasattr(boxes, 'tensor') else boxes
        return masks, boxes.to(device).float()

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        """mmengine entry point: ``'loss'`` -> loss dict, ``'predict'`` ->
        data samples with predictions, ``'tensor'`` -> raw features."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}": expected loss, predict '
                           'or tensor')

    def _apply(self, fn, *args, **kwargs):
        """Move/cast the hidden teacher together with the student."""
        super()._apply(fn, *args, **kwargs)
        if self.teacher is not None:
            self.teacher._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True) -> 'BaseDistiller':
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self
