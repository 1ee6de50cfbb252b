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


def _tiny_detector(num_queries):
    from mmengine.config import Config

    from esam3.models.heads.sam3_heads import build_sam3_models
    tiny = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', 'sam3_tiny.py'))
    config = tiny.sam3_cfg.config.to_dict()
    config['detr_decoder_config']['num_queries'] = num_queries
    return build_sam3_models(config=config)[0]


def test_grow_queries_keeps_trained_queries_and_saves_the_new_count(
        tmp_path):
    from transformers import Sam3Model
    tool = load_tool()
    torch.manual_seed(0)
    det = _tiny_detector(20)
    dec = det.detr_decoder
    old_q = dec.query_embed.weight.detach().clone()
    old_r = dec.reference_points.weight.detach().clone()
    tool.grow_queries(det, 32)
    q, r = dec.query_embed.weight, dec.reference_points.weight
    assert q.shape == (32, old_q.shape[1]) and r.shape == (32, 4)
    assert torch.equal(q[:20], old_q) and torch.equal(r[:20], old_r)
    # new rows: transformers' N(0, initializer_range), not copies / zeros
    std = det.config.initializer_range
    assert 0.5 * std < float(q[20:].detach().std()) < 2 * std
    assert not any(torch.equal(q[20 + i], old_q[i]) for i in range(12))
    assert q.requires_grad and r.requires_grad
    # the written folder loads with 32 queries and the same weights
    det.save_pretrained(str(tmp_path))
    back = Sam3Model.from_pretrained(str(tmp_path))
    assert back.config.detr_decoder_config.num_queries == 32
    assert torch.equal(back.detr_decoder.query_embed.weight, q)
    assert torch.equal(back.detr_decoder.reference_points.weight, r)
    tool.grow_queries(det, 32)  # same count: nothing changes
    assert torch.equal(dec.query_embed.weight, q)
    with pytest.raises(ValueError, match='smaller than the 32 queries'):
        tool.grow_queries(det, 16)


def test_instance_weights_and_weighted_batches():
    """Bundled SA-Co pairs: 1 + instances (coins 25, negatives 1); a
    weighted stream draws in proportion and repeats under its seed."""
    import json
    from esam3.utils import register_all_modules
    register_all_modules()
    tool = load_tool()
    concept = tool.build_sources(False)['concept']
    weights = tool.instance_weights(concept)
    with open(osp.join(REPO, 'data', 'samples', 'saco',
                       'annotations.json')) as f:
        ann = json.load(f)
    counts = {i['id']: 0 for i in ann['images']}
    for a in ann['annotations']:
        counts[a['image_id']] += 1
    expected = [
        1.0 + counts[concept.get_data_info(i)['img_id']]
        for i in range(len(concept))
    ]
    assert weights.tolist() == expected
    assert max(expected) == 25.0 and expected.count(1.0) == 4

    class Ids:  # a dataset whose samples are their indices
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return i

    def draw(seed, w):
        stream = tool.batches(Ids(), 2, torch.Generator().manual_seed(seed),
                              w)
        return [i for _ in range(500) for i in next(stream)]

    w = torch.tensor([1.0, 0.0, 3.0, 0.0])
    drawn = draw(0, w)
    assert set(drawn) == {0, 2}
    assert 0.7 < drawn.count(2) / len(drawn) < 0.8
    assert drawn == draw(0, w) and drawn != draw(1, w)
    assert sorted(draw(0, None)[:4]) == [0, 1, 2, 3]  # uniform: a shuffle


def test_fresh_model_takes_num_queries():
    """Step 1 of make_proxy_teacher.sh builds the 20-query model it was run
    with; without --num-queries the tiny architecture's count applies."""
    from mmengine.config import Config

    from esam3.utils import register_all_modules
    register_all_modules()
    tool = load_tool()
    tiny = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', 'sam3_tiny.py'))
    default = tiny.sam3_cfg.config.detr_decoder_config.num_queries
    for asked, expected in ((20, 20), (None, default)):
        model = tool.build_finetuner(1.0, 1.0, 0, num_queries=asked)
        dec = model.student.heads.detector.detr_decoder
        assert dec.query_embed.num_embeddings == expected
        assert dec.reference_points.num_embeddings == expected
