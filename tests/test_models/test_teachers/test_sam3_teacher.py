# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Sam3Teacher / Sam3Heads: the trunk + heads decomposition answers prompts
exactly like the Hugging Face models it was cut out of."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from torch import nn

from esam3.models.heads.sam3_heads import build_sam3_models
from esam3.models.teachers import Sam3Teacher

CFG = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'models',
    'sam3_tiny.py')
TOL = 1e-5


def _sam3_config() -> dict:
    return Config.fromfile(CFG).sam3_cfg['config'].to_dict()


def _randomize(module: nn.Module, seed: int = 1) -> None:
    """Random init gives near-zero mask logits (and a zero
    no_memory_embedding); scale every tensor to O(1) so comparisons mean
    something."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters()):
            fan_in = p.shape[1] if p.dim() > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5)


@pytest.fixture(scope='module')
def teacher() -> Sam3Teacher:
    torch.manual_seed(0)
    model = Sam3Teacher(config=_sam3_config())
    _randomize(model)
    return model


@pytest.fixture(scope='module')
def images() -> torch.Tensor:
    return torch.randn(
        2, 3, 224, 224, generator=torch.Generator().manual_seed(2))


class _FirstThreeLevels(nn.Module):
    """Tracker neck cut to the 3 levels SAM3's tracker uses (what
    ``Sam3TrackerVideoModel.get_image_features`` does with ``[:-1]``)."""

    def __init__(self, neck: nn.Module) -> None:
        super().__init__()
        self.neck = neck

    def forward(self, x):
        fpn, pos = self.neck(x)
        return tuple(fpn[:3]), tuple(pos[:3])


def _hf_tracker(teacher: Sam3Teacher, three_levels: bool = True):
    tracker = copy.deepcopy(teacher.heads.tracker)
    tracker.vision_encoder.backbone = teacher.trunk
    if three_levels:
        tracker.vision_encoder.neck = _FirstThreeLevels(
            tracker.vision_encoder.neck)
    return tracker


def _point_prompts():
    points = torch.tensor([[[[50., 60.], [120., 90.]]],
                           [[[100., 120.], [20., 200.]]]])
    labels = torch.tensor([[[1, 0]], [[1, 1]]])
    return points, labels


def _max_diff(a, b) -> float:
    return (a - b).abs().max().item()


@pytest.mark.parametrize('multimask', [False, True])
def test_prompts_match_hf_tracker(teacher, images, multimask):
    points, labels = _point_prompts()
    ours = teacher.predict_prompts(
        pixel_values=images,
        points=points,
        labels=labels,
        multimask_output=multimask)
    with torch.no_grad():
        ref = _hf_tracker(teacher)(
            pixel_values=images,
            input_points=points,
            input_labels=labels,
            multimask_output=multimask)
    k = 3 if multimask else 1
    assert tuple(ours.pred_masks.shape) == (2, 1, k, 64, 64)
    assert ours.pred_masks.abs().max() > 1.0  # not a trivial comparison
    assert _max_diff(ours.pred_masks, ref.pred_masks) < TOL
    assert _max_diff(ours.iou_scores, ref.iou_scores) < TOL
    assert _max_diff(ours.object_score_logits, ref.object_score_logits) < TOL


def test_hf_tracker_image_path_and_no_memory_embedding(teacher, images):
    """Transformers 5.23's ``Sam3TrackerModel(pixel_values=...)`` adds
    ``no_memory_embedding`` to the 4th (0.5x) neck level, which it then drops;
    SAM3 (and HF's video tracker) add it to the 1x level, as Sam3Heads does.

    With a zero embedding both agree exactly.
    """
    points, labels = _point_prompts()
    raw = _hf_tracker(teacher, three_levels=False)
    ours = teacher.predict_prompts(
        pixel_values=images, points=points, labels=labels)
    with torch.no_grad():
        ref = raw(
            pixel_values=images,
            input_points=points,
            input_labels=labels,
            multimask_output=False)
    # Tripwire: if this starts failing, transformers fixed its image path
    # and the three-level wrapper above is no longer needed.
    assert _max_diff(ours.pred_masks, ref.pred_masks) > 1e-3

    zeroed = copy.deepcopy(teacher)
    zeroed.heads.tracker.no_memory_embedding.data.zero_()
    raw.no_memory_embedding.data.zero_()
    ours = zeroed.predict_prompts(
        pixel_values=images, points=points, labels=labels)
    with torch.no_grad():
        ref = raw(
            pixel_values=images,
            input_points=points,
            input_labels=labels,
            multimask_output=False)
    assert _max_diff(ours.pred_masks, ref.pred_masks) < TOL


def test_concepts_match_hf_detector(teacher, images):
    detector = copy.deepcopy(teacher.heads.detector)
    detector.vision_encoder.backbone = teacher.trunk
    ids = torch.randint(
        0, 49406, (2, 32), generator=torch.Generator().manual_seed(3))
    ids[:, 0], ids[:, 5] = 49406, 49407
    mask = torch.zeros(2, 32, dtype=torch.long)
    mask[:, :6] = 1
    boxes = torch.tensor([[[0.4, 0.4, 0.2, 0.3]], [[0.6, 0.5, 0.3, 0.2]]])
    box_labels = torch.ones(2, 1, dtype=torch.long)
    kwargs = dict(
        input_ids=ids,
        attention_mask=mask,
        input_boxes=boxes,
        input_boxes_labels=box_labels)
    with torch.no_grad():
        ours = teacher.predict_concepts(pixel_values=images, **kwargs)
        ref = detector(pixel_values=images, **kwargs)
    q = _sam3_config()['detr_decoder_config']['num_queries']
    assert tuple(ours.pred_masks.shape) == (2, q, 64, 64)
    for key in ('pred_masks', 'pred_boxes', 'pred_logits', 'presence_logits'):
        assert _max_diff(getattr(ours, key), getattr(ref, key)) < TOL, key
    assert ours.pred_masks.abs().max() > 1.0


def test_box_equals_corner_points(teacher, images):
    boxes = torch.tensor([[[30., 40., 150., 170.]], [[10., 20., 100., 200.]]])
    by_box = teacher.predict_prompts(pixel_values=images, boxes=boxes)
    corners = boxes.view(2, 1, 2, 2)
    corner_labels = torch.tensor([2, 3]).view(1, 1, 2).expand(2, 1, 2)
    by_points = teacher.predict_prompts(
        pixel_values=images, points=corners, labels=corner_labels)
    assert _max_diff(by_box.pred_masks, by_points.pred_masks) < TOL
    other = teacher.predict_prompts(pixel_values=images, boxes=boxes + 30)
    assert _max_diff(by_box.pred_masks, other.pred_masks) > 100 * TOL


def test_trunk_reuse_and_errors(teacher, images):
    trunk = teacher.encode_trunk(images)
    assert tuple(trunk.shape) == (2, 32, 16, 16)
    points, labels = _point_prompts()
    a = teacher.predict_prompts(
        pixel_values=images, points=points, labels=labels)
    b = teacher.predict_prompts(trunk=trunk, points=points, labels=labels)
    assert _max_diff(a.pred_masks, b.pred_masks) == 0
    with pytest.raises(ValueError, match='points, boxes or masks'):
        teacher.predict_prompts(pixel_values=images)
    with pytest.raises(ValueError, match='without labels'):
        teacher.predict_prompts(pixel_values=images, points=points)
    with pytest.raises(ValueError, match='patch size'):
        teacher.encode_trunk(torch.randn(1, 3, 220, 220))


def test_frozen_and_eval(teacher):
    assert not any(p.requires_grad for p in teacher.parameters())
    teacher.train()
    assert not teacher.training
    assert not any(m.training for m in teacher.modules())


def test_missing_pretrained(tmp_path):
    missing = tmp_path / 'no_such_sam3'
    with pytest.raises(FileNotFoundError, match=str(missing)):
        Sam3Teacher(pretrained=str(missing))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='config.json'):
        Sam3Teacher(pretrained=str(empty))


def test_save_and_load_pretrained(tmp_path, images):
    """Detector and tracker each write config.json, so one save folder holds
    them in ``detector/`` and ``tracker/`` sub-folders."""
    torch.manual_seed(0)
    detector, tracker = build_sam3_models(config=_sam3_config())
    _randomize(detector, seed=4)
    _randomize(tracker, seed=5)
    detector.save_pretrained(str(tmp_path / 'sam3' / 'detector'))
    tracker.save_pretrained(str(tmp_path / 'sam3' / 'tracker'))

    from_folder = Sam3Teacher(pretrained=str(tmp_path / 'sam3'))
    from_dict = Sam3Teacher(
        pretrained=dict(
            detector=str(tmp_path / 'sam3' / 'detector'),
            tracker=str(tmp_path / 'sam3' / 'tracker')))
    for name, ref in detector.vision_encoder.backbone.state_dict().items():
        torch.testing.assert_close(from_folder.trunk.state_dict()[name], ref)
    heads = from_folder.heads.state_dict()
    for name, ref in tracker.state_dict().items():
        if not name.startswith('vision_encoder.backbone.'):
            torch.testing.assert_close(heads['tracker.' + name], ref)
    points, labels = _point_prompts()
    a = from_folder.predict_prompts(
        pixel_values=images, points=points, labels=labels)
    b = from_dict.predict_prompts(
        pixel_values=images, points=points, labels=labels)
    assert _max_diff(a.pred_masks, b.pred_masks) == 0
    assert not any(p.requires_grad for p in from_folder.parameters())
