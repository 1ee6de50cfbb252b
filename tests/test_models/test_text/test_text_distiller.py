# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import os.path as osp

import pytest
import torch
from text_fixtures import REPO, tiny_sam3_cfg, tiny_text_student

from esam3.models.distillers.text_distiller import (init_token_embedding_from,
                                                    masked_mean,
                                                    teacher_token_embedding,
                                                    token_cosine)
from esam3.registry import METRICS, MODELS

pytestmark = pytest.mark.usefixtures('one_thread')


def build(**kw):
    cfg = dict(
        type='TextDistiller',
        student=tiny_text_student(),
        teacher=dict(type='Sam3TextTeacher', **tiny_sam3_cfg()),
        tokenizer=dict(type='Sam3Tokenizer'))
    cfg.update(kw)
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def model():
    return build()


def test_masked_helpers_by_hand():
    x = torch.tensor([[[1., 0.], [3., 0.], [100., 100.]]])
    mask = torch.tensor([[1, 1, 0]])
    torch.testing.assert_close(masked_mean(x, mask), torch.tensor([[2., 0.]]))
    y = torch.tensor([[[0., 1.], [3., 0.], [-5., 2.]]])
    # tokens 0 and 1: cos 0 and 1 -> 0.5; token 2 is padding
    torch.testing.assert_close(token_cosine(x, y, mask), torch.tensor([.5]))


def test_losses_by_hand_and_padding_is_masked(model, monkeypatch):
    t = torch.randn(2, 32, 32)
    mask = torch.zeros(2, 32, dtype=torch.long)
    mask[0, :3] = 1
    mask[1, :5] = 1
    for student, want in ((t.clone(), 0.0), (-t, 2.0)):
        garbage = student.clone()
        garbage[~mask.bool()] = 1e3  # padded positions must not count
        for s in (student, garbage):
            monkeypatch.setattr(
                model, 'features', lambda texts, s=s: (s, t, mask))
            losses = model.loss(['a', 'b'])
            assert float(losses['loss_token_cos']) == pytest.approx(
                want, abs=1e-6)
            assert float(losses['loss_pooled']) == pytest.approx(
                want, abs=1e-6)
            if want == 0:
                assert float(losses['loss_token']) == 0
    monkeypatch.undo()


def test_gradients_reach_only_the_student(model):
    model.train()
    losses = model.loss(['a cat', 'two red buses', 'dog'])
    assert set(losses) == {'loss_token', 'loss_token_cos', 'loss_pooled'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.student.text_projection.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    assert not model.teacher.training
    keys = list(model.state_dict())
    assert keys and all(k.startswith('student.') for k in keys)
    model.zero_grad()


def test_token_table_starts_from_teacher_projection():
    torch.manual_seed(0)
    teacher = MODELS.build(dict(type='Sam3TextTeacher', **tiny_sam3_cfg()))
    table = teacher_token_embedding(teacher)  # [V, 32]
    wide = MODELS.build(
        tiny_text_student(
            config=dict(
                hidden_size=48,
                intermediate_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                max_position_embeddings=32)))
    init_token_embedding_from(wide, table)
    w = wide.text_encoder.embeddings.token_embedding.weight
    # wider student: a rotation of the centred table, zeros beyond
    assert w[:, 32:].abs().max() == 0
    i, j = torch.randint(0, table.shape[0], (2, 50))
    torch.testing.assert_close(
        (w[i] - w[j]).norm(dim=1), (table[i] - table[j]).norm(dim=1),
        rtol=1e-3,
        atol=1e-4)


def test_width_mismatch_is_named():
    with pytest.raises(ValueError, match='projects to 16 channels'):
        build(student=tiny_text_student(out_channels=16))


def test_predict_feeds_the_metric(model):
    model.eval()
    out = model(['a cat', 'fire hydrant'], mode='predict')
    assert [o.text for o in out] == ['a cat', 'fire hydrant']
    metric = METRICS.build(dict(type='TextFidelityMetric', threshold=0.5))
    metric.process(None, [o.to_dict() for o in out])
    res = metric.compute_metrics(metric.results)
    pooled = [o.pooled_cos for o in out]
    assert res['pooled_cos'] == pytest.approx(sum(pooled) / 2)
    assert res['frac_ge_thr'] == pytest.approx(
        sum(p >= 0.5 for p in pooled) / 2)
    assert all(-1 <= o.token_cos <= 1 for o in out)


def test_metric_by_hand():
    metric = METRICS.build(dict(type='TextFidelityMetric', threshold=0.95))
    metric.process(None, [
        dict(token_cos=0.9, pooled_cos=0.96),
        dict(token_cos=0.7, pooled_cos=0.8)
    ])
    res = metric.compute_metrics(metric.results)
    assert res == pytest.approx(
        dict(
            token_cos=0.8,
            pooled_cos=0.88,
            min_pooled_cos=0.8,
            frac_ge_thr=0.5))


def test_short_training_run(tmp_path):
    """tools/train.py's runner on the bundled phrases, 10 iterations."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(REPO, 'configs/text_distill/tiny.py'))
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.data_root = osp.join(REPO, 'data/phrases')
    cfg.train_cfg.max_iters = 10
    cfg.train_cfg.val_interval = 10
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    cfg.default_hooks.checkpoint.interval = 10
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.message_hub.get_scalar('val/text/pooled_cos')
    assert -1 <= metrics.current() <= 1
    ckpt = torch.load(
        tmp_path / 'iter_10.pth', map_location='cpu', weights_only=False)
    assert all(k.startswith('student.') for k in ckpt['state_dict'])
    # the checkpoint loads strictly as a text student
    MODELS.build(
        dict(cfg.model.student, pretrained=str(tmp_path / 'iter_10.pth')))
