# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/misc/train_proxy_teacher.py: the classification-loss choice, the
positional-encoding tie, the held-out split and frozen parts."""
import os.path as osp

import esam3_toy_helpers
import pytest
import torch
import torch.nn.functional as F

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SA1B = osp.join(REPO, 'data', 'samples', 'sa1b')


def load_tool():
    return esam3_toy_helpers.load_tool('misc/train_proxy_teacher.py')


def test_bce_cls_loss_is_twice_binary_cross_entropy():
    from esam3.registry import MODELS
    from esam3.utils import register_all_modules
    register_all_modules()
    tool = load_tool()
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0])
    target = torch.tensor([1.0, 0.0, 1.0, 0.0])
    bce = MODELS.build(tool.cls_loss_cfg('bce'))
    expected = 2 * F.binary_cross_entropy_with_logits(logits, target)
    assert torch.allclose(bce(logits, target), expected, atol=1e-6)
    # with Stage 3's avg_factor (the number of matched queries)
    assert torch.allclose(
        bce(logits, target, avg_factor=2.0),
        2 *
        F.binary_cross_entropy_with_logits(logits, target, reduction='sum') /
        2.0,
        atol=1e-6)
    # focal keeps SAM3's loss: a confident positive costs almost nothing
    focal = MODELS.build(tool.cls_loss_cfg('focal'))
    sure = torch.tensor([2.0]), torch.tensor([1.0])
    assert focal(*sure) < 0.01 < bce(*sure)
    with pytest.raises(ValueError, match='focal or bce'):
        tool.cls_loss_cfg('hinge')
    # the quick start's Stage 3 student trains with the teacher's loss
    from mmengine.config import Config
    stage3 = Config.fromfile(
        osp.join(REPO, 'configs', 'proxy_teacher', 'stage3.py'))
    assert stage3.model.loss_cls.to_dict() == tool.cls_loss_cfg('bce')


def test_tie_prompt_positional_encoding_matches_image_grid():
    from mmengine.config import Config

    from esam3.models.heads.sam3_heads import build_sam3_models
    tool = load_tool()
    tiny = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', 'sam3_tiny.py'))
    torch.manual_seed(0)
    _, tracker = build_sam3_models(config=tiny.sam3_cfg.config.to_dict())
    image_pe = tracker.shared_image_embedding.positional_embedding
    prompt_pe = tracker.prompt_encoder.shared_embedding.positional_embedding
    assert not torch.equal(image_pe, prompt_pe)  # drawn independently
    tool.tie_prompt_positional_encoding(tracker, scale=2.0)
    assert torch.equal(image_pe, prompt_pe)
    # a point at the centre of grid cell (row 3, col 5) now has the image
    # positional encoding of that cell
    grid = tracker.get_image_wide_positional_embeddings()[0]  # [C, g, g]
    size = tracker.prompt_encoder.input_image_size
    cell = size / grid.shape[-1]
    point = torch.tensor([[[[(5 + 0.5) * cell, (3 + 0.5) * cell]]]])
    enc = tracker.prompt_encoder.shared_embedding(point, (size, size))
    assert torch.allclose(enc.view(-1), grid[:, 3, 5], atol=1e-5)


def test_fit_list_leaves_the_held_out_images_out():
    tool = load_tool()
    with open(tool.fit_list(SA1B)) as f:
        fit = [line.strip() for line in f if line.strip()]
    with open(osp.join(SA1B, 'unseen_by_proxy_teacher.txt')) as f:
        held_out = {line.strip() for line in f if line.strip()}
    assert held_out and not held_out & set(fit)
    # every bundled SA-1B-format image is in exactly one of the two
    names = {
        osp.splitext(n)[0]
        for n in __import__('os').listdir(SA1B) if n.endswith('.jpg')
    }
    assert set(fit) | held_out == names


def test_held_out_images_are_not_the_teacher_s_prompt_data():
    """The teacher fits geometric prompts on the COCO-format sample: none of
    its images may be in the held-out list."""
    import json
    with open(
            osp.join(REPO, 'data', 'samples', 'coco', 'annotations',
                     'instances_val.json')) as f:
        coco = {
            osp.splitext(i['file_name'])[0]
            for i in json.load(f)['images']
        }
    with open(osp.join(SA1B, 'unseen_by_proxy_teacher.txt')) as f:
        held_out = {line.strip() for line in f if line.strip()}
    assert coco and not coco & held_out


def test_frozen_parts_get_no_update():
    from esam3.utils import register_all_modules
    register_all_modules()
    tool = load_tool()
    model = tool.build_finetuner(
        1.0, 1.0, 0, frozen=('trunk', 'heads.tracker', 'video'))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(
        n.startswith('student.heads.detector.') for n in trainable)


def test_cli_concept_only_run_is_deterministic_and_keeps_frozen_parts(
        tmp_path):
    """Two short concept-only runs from the shipped teacher, as the last steps
    of tools/misc/make_proxy_teacher.sh: the same bytes twice, the frozen
    tracker unchanged, the detector's concept heads moved."""
    from safetensors.torch import load_file
    tool = load_tool()
    init = osp.join(REPO, 'data', 'proxy_teacher')
    outs = [str(tmp_path / f'run{i}') for i in range(2)]
    for out in outs:
        tool.main([
            out, '--init', init, '--iters', '3', '--lr', '1e-3', '--seed',
            '12', '--cls-loss', 'bce', '--schedule', 'concept', '--frozen',
            'trunk', 'heads.tracker', 'video'
        ])
    for part in ('detector', 'tracker', 'tracker_video'):
        a, b = (
            load_file(osp.join(o, part, 'model.safetensors')) for o in outs)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), part
    before = load_file(osp.join(init, 'tracker', 'model.safetensors'))
    after = load_file(osp.join(outs[0], 'tracker', 'model.safetensors'))
    assert all(torch.equal(before[k], after[k]) for k in before)
    before = load_file(osp.join(init, 'detector', 'model.safetensors'))
    after = load_file(osp.join(outs[0], 'detector', 'model.safetensors'))
    moved = [k for k in before if not torch.equal(before[k], after[k])]
    assert moved and not any('vision_encoder.backbone' in k for k in moved)
