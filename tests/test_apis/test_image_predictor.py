# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""ImagePredictor: geometric and concept prompts, errors, checkpoints."""
import cv2
import numpy as np
import pytest
import torch
from api_fixtures import (STAGE1_TINY, sample_image, stage1_distiller,
                          tiny_num_queries)

from esam3.apis import ImagePredictor
from esam3.apis.model_loading import build_inference_model
from esam3.models.data_preprocessors import preprocess_image
from esam3.models.distillers.outputs import paste_masks_to_original

IMG = sample_image('coffee.jpg')  # non-square


@pytest.fixture(scope='module')
def models():
    distiller, cfg = stage1_distiller()
    return distiller.student, distiller.teacher, cfg


@pytest.fixture(scope='module')
def predictor(models):
    pred = ImagePredictor(models[0], img_size=224)
    pred.set_image(IMG, channel_order='bgr')
    return pred


def _manual_masks(model, points, labels, multimask):
    """The same answer computed by hand from the library pieces (``points`` in
    original pixels)."""
    img = cv2.imread(IMG)
    pixels, meta = preprocess_image(img, 224)
    points = points * torch.tensor(meta['scale_factor'][:2])
    with torch.no_grad():
        emb = model.heads.tracker_image_embeddings(model.encode_trunk(pixels))
        out = model.heads.decode_prompts(
            emb, points[None], labels[None], multimask_output=multimask)
    logits = out.pred_masks[0]
    n, k = logits.shape[:2]
    full = paste_masks_to_original(logits.flatten(0, 1), meta, 224)
    return full.view(n, k, *full.shape[-2:]).numpy(), out.iou_scores[0]


def test_geometric_prompts(predictor, models):
    h, w = cv2.imread(IMG).shape[:2]
    # one click, 3 candidates
    res = predictor.predict(points=[[300, 200]], labels=[1])
    assert res['masks'].shape == (1, 3, h, w)
    assert res['masks'].dtype == bool
    assert res['scores'].shape == (1, 3)
    assert ((res['scores'] >= 0) & (res['scores'] <= 1)).all()
    assert res['object_scores'].shape == (1, )
    assert res['low_res_logits'].shape == (1, 3, 64, 64)  # 4 x 16
    ref, iou = _manual_masks(models[0], torch.tensor([[[300., 200.]]]),
                             torch.tensor([[1]]), True)
    np.testing.assert_array_equal(res['masks'], ref)
    np.testing.assert_allclose(res['scores'], iou.numpy(), atol=1e-6)
    # several clicks of one object (positive + negative)
    res = predictor.predict(points=[[300, 200], [50, 50]], labels=[1, 0])
    assert res['masks'].shape == (1, 3, h, w)
    # one box, single mask: same as decoding its corners by hand
    box = [100, 80, 420, 330]
    res = predictor.predict(boxes=box, multimask_output=False)
    assert res['masks'].shape == (1, 1, h, w)
    ref, _ = _manual_masks(models[0],
                           torch.tensor([[[100., 80.], [420., 330.]]]),
                           torch.tensor([[2, 3]]), False)
    np.testing.assert_array_equal(res['masks'], ref)
    # several boxes: one object each
    res = predictor.predict(boxes=[box, [10, 10, 200, 150]])
    assert res['masks'].shape == (2, 3, h, w)
    assert res['scores'].shape == (2, 3)
    # box + a refining click per box
    res = predictor.predict(
        points=[[[300, 200]], [[60, 60]]],
        labels=[[1], [0]],
        boxes=[box, [10, 10, 200, 150]])
    assert res['masks'].shape == (2, 3, h, w)
    # mask-input refinement from the previous low-res logits
    best = res['scores'].argmax(1)
    prev = res['low_res_logits'][np.arange(2), best]
    ref = predictor.predict(
        points=[[[300, 200]], [[60, 60]]],
        labels=[[1], [0]],
        boxes=[box, [10, 10, 200, 150]],
        mask_input=prev)
    assert ref['masks'].shape == (2, 3, h, w)
    assert not np.allclose(ref['low_res_logits'], res['low_res_logits'])


def test_input_tensor_is_sam3_image_processor_output(models, monkeypatch):
    """What the encoder receives == transformers' Sam3ImageProcessor (square
    resize, bilinear + antialias, mean = std = 0.5), and a click maps per
    axis."""
    from transformers import Sam3ImageProcessor
    seen = []
    pred = ImagePredictor(models[0], img_size=224)
    encode = pred._encode
    monkeypatch.setattr(pred, '_encode', lambda pixels:
                        (seen.append(pixels), encode(pixels)))
    pred.set_image(IMG, channel_order='bgr')
    rgb = np.ascontiguousarray(cv2.imread(IMG)[..., ::-1])
    ref = Sam3ImageProcessor(size=dict(height=224, width=224))(
        images=rgb, return_tensors='pt')['pixel_values']
    assert seen[0].shape == ref.shape
    assert (seen[0] - ref).abs().mean() < 0.02
    h, w = rgb.shape[:2]
    assert h != w
    xy = pred._to_input_xy(np.array([[300., 200.]]), 'points')
    assert xy[0].tolist() == pytest.approx([300 * 224 / w, 200 * 224 / h])


def test_concept_prompts(models):
    pred = ImagePredictor.from_config(STAGE1_TINY, use_teacher=True)
    pred.set_image(IMG, channel_order='bgr')
    h, w = cv2.imread(IMG).shape[:2]
    for kwargs in (dict(text='coffee cup'),
                   dict(exemplar_boxes=[[100, 80, 420, 330]]),
                   dict(
                       text='cup',
                       exemplar_boxes=[[100, 80, 420, 330]],
                       exemplar_labels=[1])):
        res = pred.predict_concept(score_thr=0.0, **kwargs)
        m = len(res['scores'])
        assert m == tiny_num_queries()  # every query passes thr 0
        assert res['masks'].shape == (m, h, w) and res['masks'].dtype == bool
        assert res['boxes'].shape == (m, 4) and np.isfinite(res['boxes']).all()
        assert (np.diff(res['scores']) <= 0).all()  # sorted
        assert 0.0 <= res['presence'] <= 1.0
        assert (res['scores'] <= res['presence'] + 1e-6).all()
    # a threshold above every score keeps nothing, with consistent shapes
    res = pred.predict_concept(text='cup', score_thr=0.99)
    assert res['masks'].shape == (0, h, w) and res['boxes'].shape == (0, 4)


def test_student_and_teacher_answer_alike(predictor, models):
    teacher = ImagePredictor(models[1], img_size=224)
    teacher.set_image(IMG, channel_order='bgr')
    kwargs = dict(points=[[300, 200]], labels=[1], boxes=[100, 80, 420, 330])
    a, b = predictor.predict(**kwargs), teacher.predict(**kwargs)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].shape == b[key].shape and a[key].dtype == b[key].dtype


@pytest.mark.parametrize('kwargs,err,msg', [
    (dict(points=[[700, 10]], labels=[1]), ValueError, 'outside'),
    (dict(points=[], labels=[]), ValueError, 'empty'),
    (dict(boxes=[]), ValueError, 'empty'),
    (dict(boxes=[50, 50, 50, 120]), ValueError, 'zero-area'),
    (dict(points=[[10, 10]]), ValueError, 'labels'),
    (dict(points=[[10, 10]], labels=[2]), ValueError, '0 or 1'),
    (dict(), ValueError, 'points and/or boxes'),
])
def test_bad_prompts(predictor, kwargs, err, msg):
    with pytest.raises(err, match=msg):
        predictor.predict(**kwargs)


def test_bad_images(models):
    pred = ImagePredictor(models[0], img_size=224)
    with pytest.raises(RuntimeError, match='set_image'):
        pred.predict(points=[[1, 1]], labels=[1])
    with pytest.raises(TypeError, match='uint8'):
        pred.set_image(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ValueError, match='HxWx3'):
        pred.set_image(np.zeros((32, 32, 4), np.uint8))
    with pytest.raises(ValueError, match='HxWx3'):
        pred.set_image(np.zeros((32, 32), np.uint8))
    with pytest.raises(FileNotFoundError, match='no_such.jpg'):
        pred.set_image('no_such.jpg')


def test_checkpoint_round_trip(tmp_path, models):
    distiller, cfg = stage1_distiller()
    state = distiller.state_dict()
    assert state and all(k.startswith('student.') for k in state)
    ckpt = tmp_path / 'student.pth'
    torch.save({'state_dict': state}, ckpt)
    torch.manual_seed(123)  # the rebuilt model starts from other weights
    loaded, _ = build_inference_model(cfg, str(ckpt))
    ref = ImagePredictor(distiller.student, 224)
    new = ImagePredictor(loaded, 224)
    for p in (ref, new):
        p.set_image(IMG, channel_order='bgr')
    a = ref.predict(boxes=[100, 80, 420, 330])
    b = new.predict(boxes=[100, 80, 420, 330])
    np.testing.assert_array_equal(a['masks'], b['masks'])
    np.testing.assert_allclose(
        a['low_res_logits'], b['low_res_logits'], atol=1e-6)

    # missing and unexpected keys: a KeyError naming them
    bad = dict(state)
    missing = next(k for k in bad if 'trunk' in k)
    bad.pop(missing)
    bad['student.extra.weight'] = torch.zeros(1)
    torch.save({'state_dict': bad}, tmp_path / 'bad.pth')
    with pytest.raises(KeyError) as info:
        build_inference_model(cfg, str(tmp_path / 'bad.pth'))
    assert missing[len('student.'):] in str(info.value)
    assert 'extra.weight' in str(info.value)
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        build_inference_model(cfg, str(tmp_path / 'missing.pth'))
