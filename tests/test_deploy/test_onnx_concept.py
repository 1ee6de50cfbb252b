# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Concept path on onnxruntime (tiny Stage 3 student): text encoder and concept
decoder graphs, OrtImagePredictor text / exemplar / cached-text prompts vs
ImagePredictor, int8 round trip, bad inputs."""
import glob
import json
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import torch

# isort: off
# yapf: disable
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'test_apis'))
from api_fixtures import REPO, SA1B, stage3_distiller  # noqa: E402
from esam3.apis import ImagePredictor  # noqa: E402
from esam3.deploy import OrtImagePredictor, export_model  # noqa: E402
from esam3.deploy import load_manifest, parity_table  # noqa: E402
from esam3.deploy.onnx_parity import check_concept_parity  # noqa: E402
from esam3.deploy.onnx_quantize import quantize_export  # noqa: E402
from esam3.registry import MODELS  # noqa: E402
# yapf: enable
# isort: on

COCO = osp.join(REPO, 'data/samples/coco/images')
IMAGES = sorted(glob.glob(osp.join(SA1B, '*.jpg')))[:1]
PARTS = ['encoder', 'prompt_decoder', 'text_encoder', 'concept_decoder']


def _iou(a, b):
    union = (a | b).sum()
    return 1.0 if union == 0 else (a & b).sum() / union


@pytest.fixture(scope='module')
def concept_export(tmp_path_factory):
    torch.manual_seed(0)
    distiller, cfg = stage3_distiller()
    out = str(tmp_path_factory.mktemp('onnx_concept'))
    with torch.no_grad():
        export_model(
            distiller.student,
            out,
            parts=PARTS,
            tokenizer=dict(cfg.model.tokenizer))
    return distiller.student, cfg, out


@pytest.fixture(scope='module')
def predictors(concept_export):
    model, cfg, out = concept_export
    torch_pred = ImagePredictor(
        model, img_size=224, tokenizer=MODELS.build(cfg.model.tokenizer))
    ort_pred = OrtImagePredictor(out)
    for pred in (torch_pred, ort_pred):
        pred.set_image(osp.join(COCO, 'coins.jpg'))
    return torch_pred, ort_pred


def test_manifest_and_parity(concept_export):
    model, cfg, out = concept_export
    info = load_manifest(out)
    assert set(info['parts']) == set(PARTS)
    assert info['tokenizer']['type'] == 'Sam3Tokenizer'
    assert info['parts']['text_encoder']['inputs']['input_ids'] == [
        'num_phrases', 32
    ]
    parts = info['parts']
    ex = parts['concept_decoder']['inputs']['concept_decoder_exemplar']
    assert ex['boxes'] == [1, 'num_exemplars', 4]
    # the encoder outputs the tracker and the detector levels, no video
    assert list(info['parts']['encoder']['outputs']) == [
        'emb_s0', 'emb_s1', 'emb', 'det_0', 'det_1', 'det_2'
    ]
    rows = check_concept_parity(model, out, IMAGES,
                                MODELS.build(cfg.model.tokenizer))
    print(parity_table(rows))
    # text encoder + (2 phrases + exemplars) per image
    assert len(rows) == 1 + 3 * len(IMAGES)
    for row in rows:
        assert row['ok'] and row['max_abs_ref'] > 0, row
        assert row['rel_diff'] < 1e-4, row


@pytest.mark.parametrize('kwargs', [
    dict(text='coin'),
    dict(text='coin', exemplar_boxes=[[30, 40, 120, 150]]),
    dict(
        exemplar_boxes=[[30, 40, 120, 150], [200, 10, 300, 90]],
        exemplar_labels=[1, 0]),
])
def test_concept_predictor_matches_torch(predictors, kwargs):
    torch_pred, ort_pred = predictors
    a = torch_pred.predict_concept(score_thr=0.0, **kwargs)
    b = ort_pred.predict_concept(score_thr=0.0, **kwargs)
    assert a['masks'].shape == b['masks'].shape and len(a['masks']) > 0
    np.testing.assert_allclose(a['scores'], b['scores'], atol=1e-5)
    np.testing.assert_allclose(a['boxes'], b['boxes'], atol=1e-2)
    assert abs(a['presence'] - b['presence']) < 1e-5
    assert _iou(a['masks'], b['masks']) >= 0.99


def test_cached_text_embeddings(predictors):
    """A vocabulary encoded once (text_encoder.onnx, batch) gives the same
    detections as text encoded per call; caches made by the PyTorch twin fit
    the ONNX predictor and the other way round (same encoder identity)."""
    torch_pred, ort_pred = predictors
    vocab = ort_pred.encode_text(['person', 'coin', 'dog'])
    assert vocab.features.shape[:2] == vocab.mask.shape == (3, 32)
    assert vocab.encoder == torch_pred.text_encoder_identity()
    direct = torch_pred.predict_concept(text='coin', score_thr=0.0)
    twin = torch_pred.encode_text(['coin', 'visual'])
    np.testing.assert_allclose(
        twin.features[0].numpy(), vocab.features[1].numpy(), atol=1e-5)
    for pred, cache in ((ort_pred, vocab), (ort_pred, twin), (torch_pred,
                                                              vocab)):
        cached = pred.predict_concept(
            text='coin', text_embeddings=cache, score_thr=0.0)
        np.testing.assert_allclose(
            cached['scores'], direct['scores'], atol=1e-5)
        assert _iou(cached['masks'], direct['masks']) >= 0.99
    # exemplar-only prompts read the generic phrase 'visual' from the cache
    ex = dict(exemplar_boxes=[[30, 40, 120, 150]], score_thr=0.0)
    a = torch_pred.predict_concept(**ex)
    b = ort_pred.predict_concept(text_embeddings=twin, **ex)
    np.testing.assert_allclose(a['scores'], b['scores'], atol=1e-5)
    with pytest.raises(KeyError, match="'cat' is not in the cached"):
        ort_pred.predict_concept(text='cat', text_embeddings=vocab)
    with pytest.raises(TypeError, match='text_embeddings must be'):
        ort_pred.predict_concept(
            text='coin', text_embeddings=(vocab.features, vocab.mask))
    from esam3.apis.text_embeddings import (TextEmbeddings,
                                            VocabularyMismatchError)
    other = TextEmbeddings(['coin'], vocab.features[1:2], vocab.mask[1:2],
                           dict(vocab.encoder, weights='0000'))
    with pytest.raises(VocabularyMismatchError):
        ort_pred.predict_concept(text='coin', text_embeddings=other)


def test_bad_inputs_name_part_and_shape(concept_export, predictors, tmp_path):
    _, _, out = concept_export
    _, ort_pred = predictors
    graph = ort_pred.parts.graph('concept_decoder')
    feeds = dict(
        det_0=np.zeros((1, 32, 64, 64), np.float32),
        det_1=np.zeros((1, 32, 32, 32), np.float32),
        det_2=np.zeros((1, 32, 16, 16), np.float32),
        text_features=np.zeros((1, 32, 32), np.float32),
        text_mask=np.ones((1, 32), np.int64))
    with pytest.raises(
            ValueError,
            match=r'concept_decoder graph concept_decoder .*'
            r"'det_2' must have shape \[1, 32, 16, 16\]"):
        graph(**dict(feeds, det_2=np.zeros((1, 32, 8, 8), np.float32)))
    with pytest.raises(TypeError, match="'text_mask' must be int64"):
        graph(**dict(feeds, text_mask=np.ones((1, 32), np.float32)))
    with pytest.raises(ValueError, match=r"missing \['text_mask'\]"):
        graph(**{k: v for k, v in feeds.items() if k != 'text_mask'})
    # a graph exported at another size swapped into the folder
    bad = tmp_path / 'bad'
    shutil.copytree(out, bad)
    with open(bad / 'esam3_onnx.json') as f:
        info = json.load(f)
    info['parts']['encoder']['inputs']['pixel_values'] = [1, 3, 448, 448]
    with open(bad / 'esam3_onnx.json', 'w') as f:
        json.dump(info, f)
    with pytest.raises(
            ValueError,
            match=r'encoder graph encoder takes .*\[1, 3, 224, '
            r'224\].* expects \[1, 3, 448, 448\]'):
        OrtImagePredictor(str(bad)).set_image(IMAGES[0])
    # a missing graph file names the file
    (bad / 'text_encoder.onnx').unlink()
    with pytest.raises(FileNotFoundError, match='text_encoder.onnx'):
        OrtImagePredictor(str(bad))


def test_int8_round_trip(concept_export, tmp_path):
    """Dynamic int8 copy: same manifest, loads in the predictor, masks close
    to fp32 (box prompt and text prompt)."""
    _, _, out = concept_export
    q = str(tmp_path / 'int8')
    files = quantize_export(out, q, 'dynamic')
    info = load_manifest(q)
    assert info['quantization']['mode'] == 'dynamic'
    assert set(files) - {'manifest'} == set(load_manifest(out)['files'])
    import onnx
    ops = {n.op_type for n in onnx.load(files['encoder']).graph.node}
    assert ops & {'ConvInteger', 'MatMulInteger', 'DynamicQuantizeLinear'}
    preds = [OrtImagePredictor(d) for d in (out, q)]
    for p in preds:
        p.set_image(osp.join(COCO, 'coins.jpg'))
    a, b = [p.predict(boxes=[[30, 40, 220, 200]]) for p in preds]
    assert _iou(a['masks'][0, 0], b['masks'][0, 0]) >= 0.9
    with pytest.raises(ValueError, match='calibration images'):
        quantize_export(out, q, 'static')
    with pytest.raises(ValueError, match='mode must be one of'):
        quantize_export(out, q, 'int4')


def test_light_concept_path_exports(tmp_path):
    """The light concept path (distilled text student + pooled DETR encoder,
    configs/concept_light/tiny.py) exports and matches PyTorch:

    text_encoder.onnx is then the text student.
    """
    from api_fixtures import _build_distiller
    distiller, cfg = _build_distiller(
        osp.join(REPO, 'configs/concept_light/tiny.py'), 0)
    model = distiller.student
    out = str(tmp_path)
    with torch.no_grad():
        export_model(
            model,
            out,
            parts=['encoder', 'text_encoder', 'concept_decoder'],
            tokenizer=dict(cfg.model.tokenizer))
    info = load_manifest(out)
    from esam3.models.text.text_identity import text_encoder_identity
    assert info['text_encoder_identity'] == text_encoder_identity(
        model.heads.detector)
    rows = check_concept_parity(model, out, IMAGES,
                                MODELS.build(cfg.model.tokenizer))
    assert len(rows) == 4 and all(r['ok'] for r in rows), rows
