# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/analysis_tools/benchmark.py: attention counted on CPU, light-neck rows
on the meta device, totals and target rows of the tables."""
import os.path as osp

import esam3_toy_helpers
import pytest
import torch
import torch.nn.functional as F

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def bench():
    return esam3_toy_helpers.load_tool('analysis_tools/benchmark.py')


def test_cpu_attention_is_counted(bench):
    bench.register_cpu_attention()
    q = torch.randn(1, 2, 16, 8)  # b, heads, tokens, dim
    g, _ = bench.gflops(lambda: F.scaled_dot_product_attention(q, q, q))
    # QK^T and AV: 2 x (2 x b x h x s x s x d) FLOPs
    assert g * 1e9 == pytest.approx(2 * 2 * 1 * 2 * 16 * 16 * 8)


def test_light_neck_rows_on_meta(bench):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import esam3  # noqa: F401
    init_default_scope('esam3')
    neck = Config.fromfile(osp.join(
        REPO, 'configs/_base_/models/sam3.py')).student_neck
    student = bench.build_student('efficientvit_b0', neck)
    feats = student.backbone(torch.empty(1, 3, 1008, 1008, device='meta'))
    td = student.neck.top_down(feats)
    g, levels = bench.gflops(
        lambda: student.neck.branch(td, 'tracker', (72, 72)))
    # 288 level: depthwise 3x3 + 1x1 128 -> 256 at 288 x 288
    dw = 2 * 288 * 288 * 128 * 9
    pw = 2 * 288 * 288 * 128 * 256
    assert [tuple(lv.shape[1:]) for lv in levels] == [(256, 288, 288),
                                                      (256, 144, 144),
                                                      (256, 72, 72)]
    assert g * 1e9 == pytest.approx((dw + pw) * (1 + 1 / 4 + 1 / 16), rel=1e-6)


def test_tables_totals_ratios_and_targets(bench):
    paths = {
        'sam3': {
            p: [('encoder: SAM3 ViT trunk', 900.0, 400.0),
                ('head', 100.0, 5.0)]
            for p in bench.PATHS
        },
        'repvit_m1_1': {
            p: [('encoder: repvit_m1_1 backbone', 15.0, 8.0),
                ('head', 5.0, 5.0)]
            for p in bench.PATHS
        },
    }
    text = bench.tables(dict(paths=paths), markdown=False)
    assert '| total | 1000.0 / 405.00 | 20.0 / 13.00 |' in text
    assert '| SAM3 / model (FLOPs) | 1.0x | 50.0x |' in text
    # the same component label across students
    assert '| encoder: <student> backbone | - | 15.0 / 8.00 |' in text
    assert '| box | repvit_m1_1 | >= 50x | 50.0x | yes |' in text
    assert '| video | repvit_m1_1 | >= 22x | 50.0x | yes |' in text
    assert '| concept_light | repvit_m1_1 | >= 20x | 50.0x | yes |' in text
    assert '| concept_light | repvit_m1_1 | <= 90M params | 13.0M | yes |' \
        in text
    # a result file from before the concept_light path still prints
    for rows in paths.values():
        rows.pop('concept_light')
    assert 'concept_light' not in bench.tables(dict(paths=paths))


def test_light_concept_rows_on_a_tiny_detector(bench):
    """Text student and pooled DETR level in the concept rows (tiny SAM3 at
    224 px: levels 64 / 32 / 16, DETR width 32)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from transformers import Sam3Config, Sam3Model

    import esam3  # noqa: F401
    from esam3.models.hf_builder import _fill_nested_model_types
    from esam3.registry import MODELS
    init_default_scope('esam3')
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/_base_/models/sam3_tiny.py')).sam3_cfg.config
    cfg = {k: v for k, v in cfg.to_dict().items() if k != 'tracker_config'}
    torch.manual_seed(0)
    det = Sam3Model(Sam3Config(**_fill_nested_model_types(cfg)))
    det.eval().requires_grad_(False)  # as the benchmark builds it
    text = MODELS.build(
        dict(
            type='Sam3LiteTextStudent',
            out_channels=32,
            config=dict(
                hidden_size=16,
                intermediate_size=32,
                num_hidden_layers=3,
                num_attention_heads=2,
                max_position_embeddings=32))).eval().requires_grad_(False)
    levels = [torch.randn(1, 32, s, s) for s in (64, 32, 16)]
    pooled = levels[:2] + [F.avg_pool2d(levels[2], 2)]
    with torch.no_grad():
        full = dict(
            (r[0], r[1:]) for r in bench._concept_head_rows(det, levels))
        light = dict(
            (r[0], r[1:]) for r in bench._concept_head_rows(det, pooled, text))
    label = 'text encoder (one phrase, 32 tokens)'
    n_text = sum(p.numel() for p in text.parameters()) / 1e6
    assert light[label][1] == pytest.approx(n_text)
    assert full[label][1] == pytest.approx(
        sum(p.numel() for m in (det.text_encoder, det.text_projection)
            for p in m.parameters()) / 1e6)
    # 4x fewer DETR tokens: the encoder's linear parts cost 4x less, its
    # self-attention 16x less
    assert full['DETR encoder'][0] / 16 < light['DETR encoder'][0] < \
        full['DETR encoder'][0] / 4 + 1e-9
