# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""ONNX export of the tiny student: checker, ORT parity, dynamic prompts,
OrtImagePredictor vs ImagePredictor, Perceiver graph, export tool."""
import glob
import importlib.util
import os.path as osp
import sys

import numpy as np
import pytest
import torch

# isort: off
# yapf: disable
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'test_apis'))
from api_fixtures import REPO, SA1B, STAGE1_TINY, STAGE2_TINY  # noqa: E402
from api_fixtures import stage1_distiller, stage2_distiller  # noqa: E402
from esam3.apis import ImagePredictor  # noqa: E402
from esam3.deploy import OrtImagePredictor, check_image_parity  # noqa: E402
from esam3.deploy import check_onnx, check_perceiver_parity  # noqa: E402
from esam3.deploy import create_session, export_model  # noqa: E402
from esam3.deploy import export_perceiver, load_manifest  # noqa: E402
from esam3.deploy.onnx_export import DECODER_INPUTS  # noqa: E402
from esam3.deploy.onnx_export import manifest_resize_mode  # noqa: E402
from esam3.models.memory import SpatialPerceiver  # noqa: E402
# yapf: enable
# isort: on

IMAGES = sorted(glob.glob(osp.join(SA1B, '*.jpg')))[:2]


def _load_tool():
    path = osp.join(REPO, 'tools/deployment/export_onnx.py')
    spec = importlib.util.spec_from_file_location('export_onnx_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """Export through the tool, from a checkpoint of the tiny distiller, so the
    graphs hold the same weights as ``distiller.student``."""
    distiller, _ = stage1_distiller()
    tmp = tmp_path_factory.mktemp('onnx')
    ckpt = tmp / 'student.pth'
    torch.save({'state_dict': distiller.state_dict()}, ckpt)
    out = tmp / 'onnx'
    code = _load_tool().main([
        STAGE1_TINY,
        str(ckpt), '--out',
        str(out), '--check', '--num-images', '1', '--parts', 'encoder',
        'prompt_decoder'
    ])
    assert code == 0  # parity within 1e-3 on a bundled image
    return distiller.student, str(out)


def test_files_and_checker(exported):
    _, out = exported
    info = load_manifest(out)
    assert set(info['files']) == {
        'encoder', 'prompt_decoder', 'prompt_decoder_single'
    }
    assert set(info['parts']) == {'encoder', 'prompt_decoder'}
    assert info['parts']['encoder']['inputs'] == {
        'pixel_values': [1, 3, 224, 224]
    }
    assert info['parts']['prompt_decoder']['inputs']['points'] == [
        'num_prompts', 'num_points', 2
    ]
    assert info['img_size'] == 224 and info['mean'] == [127.5] * 3
    assert info['mask_input_size'] == [64, 64]
    # how images reach S x S travels with the graphs (ONNX predictor)
    assert info['resize_mode'] == 'square'
    assert manifest_resize_mode({}) == 'letterbox'  # manifests before it
    for name in info['files'].values():
        check_onnx(osp.join(out, name))


def test_light_encoder_graph_holds_only_the_tracker_levels(exported):
    """The tiny student has the light neck: exported for box prompts only,
    its encoder holds the tracker branch, not the detector / video branches
    nor SAM3's neck."""
    import onnx
    _, out = exported
    info = load_manifest(out)
    graph = onnx.load(osp.join(out, info['files']['encoder'])).graph
    names = [i.name for i in graph.initializer]
    assert any('outputs.tracker' in n for n in names), names[:20]
    assert not any(
        'outputs.detector' in n or 'outputs.video' in n or 'fpn_layers' in n
        for n in names)


def test_parity_on_bundled_images(exported):
    model, out = exported
    rows = check_image_parity(model, out, IMAGES)
    assert len(rows) == 2 * (1 + 2 * 4)  # encoder + 2 decoders x 4 cases
    for row in rows:
        assert row['ok'], row
        assert row['max_abs_diff'] <= 1e-3 and row['score_diff'] <= 1e-3
        # the tiny random model has small logits: check the relative error
        assert row['rel_diff'] < 1e-4, row
        assert row['max_abs_ref'] > 0


@pytest.mark.parametrize('num_prompts,num_points', [(1, 1), (1, 3), (5, 1),
                                                    (5, 3)])
def test_dynamic_prompt_counts(exported, num_prompts, num_points):
    model, out = exported
    emb_sess = create_session(osp.join(out, 'encoder.onnx'))
    pixels = torch.randn(
        1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    emb = emb_sess.run(None, {'pixel_values': pixels.numpy()})
    gen = np.random.default_rng(num_prompts * 10 + num_points)
    points = (gen.random(
        (num_prompts, num_points, 2)) * 224).astype(np.float32)
    labels = gen.choice([0, 1, 2, 3], (num_prompts, num_points))
    labels[:, -1] = -10 if num_points > 1 else 1  # a padding slot
    for multi, name in ((True, 'prompt_decoder.onnx'),
                        (False, 'prompt_decoder_single.onnx')):
        sess = create_session(osp.join(out, name))
        feeds = emb + [
            points,
            labels.astype(np.int64),
            np.zeros((1, 1, 64, 64), np.float32),
            np.zeros(1, np.float32)
        ]
        masks, iou, obj = sess.run(None, dict(zip(DECODER_INPUTS, feeds)))
        k = 3 if multi else 1
        assert masks.shape == (num_prompts, k, 64, 64)
        assert iou.shape == (num_prompts, k) and obj.shape == (num_prompts, 1)
        # same as the library's decode_prompts (prompts as one image's P)
        with torch.no_grad():
            ref = model.heads.decode_prompts(
                [torch.from_numpy(e) for e in emb],
                torch.from_numpy(points)[None],
                torch.from_numpy(labels)[None],
                multimask_output=multi)
        scale = float(ref.pred_masks.abs().max())
        assert np.abs(masks - ref.pred_masks[0].numpy()).max() <= 1e-4 * scale
        assert np.abs(iou - ref.iou_scores[0].numpy()).max() <= 1e-5


def test_ort_predictor_matches_torch(exported):
    model, out = exported
    ort_pred = OrtImagePredictor(out)
    torch_pred = ImagePredictor(model, img_size=224)
    for pred in (ort_pred, torch_pred):
        pred.set_image(IMAGES[1], channel_order='bgr')
    assert ort_pred._meta == torch_pred._meta  # same preprocessing
    prompts = [
        dict(points=[[256, 200]], labels=[1]),
        dict(
            points=[[256, 200], [40, 40]],
            labels=[1, 0],
            multimask_output=False),
        dict(boxes=[[100, 60, 400, 420], [10, 10, 120, 200]]),
        dict(
            points=[[[256, 200]], [[50, 60]]],
            labels=[[1], [1]],
            boxes=[[100, 60, 400, 420], [10, 10, 120, 200]])
    ]
    for kwargs in prompts:
        a, b = torch_pred.predict(**kwargs), ort_pred.predict(**kwargs)
        assert a['masks'].shape == b['masks'].shape
        inter = (a['masks'] & b['masks']).sum()
        union = (a['masks'] | b['masks']).sum()
        assert union == 0 or inter / union > 0.99
        np.testing.assert_allclose(a['scores'], b['scores'], atol=1e-5)
        np.testing.assert_allclose(
            a['object_scores'], b['object_scores'], atol=1e-5)
    # mask-input refinement through the has_mask_input flag
    first = torch_pred.predict(boxes=[100, 60, 400, 420])
    prev = first['low_res_logits'][:, 0]
    a = torch_pred.predict(boxes=[100, 60, 400, 420], mask_input=prev)
    b = ort_pred.predict(boxes=[100, 60, 400, 420], mask_input=prev)
    assert (a['masks'] == b['masks']).mean() > 0.99
    np.testing.assert_allclose(
        a['low_res_logits'],
        b['low_res_logits'],
        atol=1e-4 * np.abs(a['low_res_logits']).max())
    # exported without the concept parts: the error names the part
    with pytest.raises(ValueError, match='no text_encoder part'):
        ort_pred.predict_concept(text='cat')
    with pytest.raises(NotImplementedError, match='export_onnx'):
        OrtImagePredictor.from_config(STAGE1_TINY)
    with pytest.raises(ValueError, match='outside'):
        ort_pred.predict(points=[[9999, 1]], labels=[1])


def test_perceiver_graph(tmp_path):
    torch.manual_seed(0)
    perceiver = SpatialPerceiver(
        dim=64, num_global_latents=16, grid_size=(4, 4)).eval()
    path = export_perceiver(perceiver, str(tmp_path / 'perceiver.onnx'), 16)
    rows = check_perceiver_parity(perceiver, path, 16, num_objects=(1, 3))
    assert [r['ok'] for r in rows] == [True, True]
    sess = create_session(path)
    latents, pos = sess.run(
        None,
        dict(
            memory=np.zeros((2, 64, 16, 16), np.float32),
            memory_pos=np.zeros((2, 64, 16, 16), np.float32)))
    assert latents.shape == pos.shape == (2, 32, 64)


def test_stage2_export(tmp_path):
    """A Stage 2 student exports its encoder (video levels only); asking for a
    part it lacks names the part."""
    model = stage2_distiller()[0].student
    files = export_model(model, str(tmp_path), parts=['encoder'])
    assert set(files) == {'encoder', 'manifest'}
    info = load_manifest(str(tmp_path))
    assert list(
        info['parts']['encoder']['outputs']) == ['vid_s0', 'vid_s1', 'vid']
    rows = check_image_parity(model, str(tmp_path), IMAGES[:1])
    assert [r['graph'] for r in rows] == ['encoder'] and rows[0]['ok']
    with pytest.raises(ValueError, match=r"no \['prompt_decoder'\] part"):
        export_model(model, str(tmp_path), parts=['prompt_decoder'])


def test_tool_stage2_tracker_check_and_int8(tmp_path, capsys):
    """The tool on a Stage 2 config: random weights warn, the tracker graphs
    pass the clip parity, the int8 copy is a loadable export; a part the
    model lacks is refused with exit code 2."""
    from esam3.deploy import OrtVideoPredictor
    tool = _load_tool()
    out = str(tmp_path / 'onnx')
    with pytest.warns(UserWarning, match='RANDOM student weights'):
        code = tool.main([
            STAGE2_TINY, '--out', out, '--check', '--num-images', '1',
            '--num-frames', '4', '--quantize', 'int8'
        ])
    assert code == 0
    printed = capsys.readouterr().out
    assert 'tracker_prompt' in printed and 'tracker_step (frames 1-3' in \
        printed and 'parity: 3/3 within 0.001' in printed
    assert set(load_manifest(out)['parts']) == {'encoder', 'tracker_step'}
    info = load_manifest(osp.join(out, 'int8'))
    assert info['quantization']['mode'] == 'dynamic'
    pred = OrtVideoPredictor(osp.join(out, 'int8'))
    assert pred.spec.num_slots == 7
    assert tool.main([STAGE2_TINY, '--out', out, '--parts',
                      'concept_decoder']) == 2
