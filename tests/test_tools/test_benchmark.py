# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""tools/analysis_tools/benchmark.py: attention counted on CPU, light-neck rows
on the meta device, totals and target rows of the tables."""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def bench():
    path = osp.join(REPO, 'tools/analysis_tools/benchmark.py')
    spec = importlib.util.spec_from_file_location('esam3_benchmark', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
