# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""ImagePredictor with the light-neck student (configs/stage1/tiny.py):

per-prompt-type laziness, the same answers as the distiller's predict path, and
a strict round trip through tools/model_converters/publish_model.py.
"""
import importlib.util
import os.path as osp

import numpy as np
import torch
from api_fixtures import REPO, STAGE1_TINY, stage1_distiller
from mmengine.dataset import pseudo_collate

from esam3.apis import ImagePredictor
from esam3.models.necks import NeckLevels
from esam3.registry import DATASETS, MODELS


def _predictor(model):
    return ImagePredictor(
        model,
        img_size=224,
        tokenizer=MODELS.build(dict(type='Sam3Tokenizer')))


def _val_sample(cfg, index=0):
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    return dataset, pseudo_collate([dataset[index]])


def test_predictor_computes_only_what_the_prompt_needs():
    distiller, _ = stage1_distiller()
    pred = _predictor(distiller.student)
    pred.set_image(osp.join(REPO, 'data/samples/sa1b/coffee.jpg'))
    feats = pred._trunk
    assert isinstance(feats, NeckLevels) and feats.computed == ()
    pred.predict(boxes=[100, 80, 420, 330])
    assert feats.computed == ('tracker', )
    levels = feats.levels('tracker')
    pred.predict(points=[[300, 200]], labels=[1])  # cached, not recomputed
    assert feats.levels('tracker')[0] is levels[0]
    pred.predict_concept(text='cup')
    assert feats.computed == ('tracker', 'detector')
    # a text-only image never computes the tracker levels
    pred.set_image(osp.join(REPO, 'data/samples/sa1b/coffee.jpg'))
    pred.predict_concept(text='cup')
    assert pred._trunk.computed == ('detector', )


def test_predictor_matches_the_distiller_predict_path():
    """Box and point prompts of the GT instances: the predictor (original
    pixels in, masks at original size out) gives the masks that
    Stage1Distiller.predict writes for the same image and prompts."""
    distiller, cfg = stage1_distiller()
    dataset, batch = _val_sample(cfg)
    data = distiller.data_preprocessor(batch, False)
    ds = distiller.predict(data['inputs'], data['data_samples'])[0]
    meta = ds.metainfo
    sx, sy = meta['scale_factor'][:2]
    boxes = ds.gt_instances.bboxes
    boxes = (boxes.tensor if hasattr(boxes, 'tensor') else boxes).numpy()
    boxes = boxes / np.array([sx, sy, sx, sy])
    pred = ImagePredictor(distiller.student, img_size=224)
    pred.set_image(meta['img_path'])
    out = pred.predict(boxes=boxes, multimask_output=False)
    expect = ds.prompt_masks['box'].numpy()
    assert out['masks'].shape[0] == expect.shape[0] > 0
    agree = (out['masks'][:, 0] == expect).mean()
    assert agree == 1.0, agree


def test_publish_round_trip_into_the_predictor(tmp_path):
    distiller, cfg = stage1_distiller()
    state = distiller.state_dict()
    assert any('trunk.neck.outputs.detector' in k for k in state)
    assert not any('vision_encoder.neck.fpn_layers' in k for k in state)
    ckpt = tmp_path / 'train.pth'
    torch.save(
        dict(state_dict=state, optimizer=dict(state={}), meta=dict(iter=1)),
        ckpt)
    spec = importlib.util.spec_from_file_location(
        'publish_model',
        osp.join(REPO, 'tools/model_converters/'
                 'publish_model.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    published = tool.main([str(ckpt), str(tmp_path / 'student.pth')])
    torch.manual_seed(7)  # the rebuilt model starts from other weights
    new = ImagePredictor.from_config(STAGE1_TINY, published)
    ref = _predictor(distiller.student)
    img = osp.join(REPO, 'data/samples/sa1b/astronaut.jpg')
    for p in (ref, new):
        p.set_image(img)
    a = ref.predict(boxes=[60, 20, 400, 500], multimask_output=False)
    b = new.predict(boxes=[60, 20, 400, 500], multimask_output=False)
    np.testing.assert_allclose(
        a['low_res_logits'], b['low_res_logits'], atol=1e-6)
    ca = ref.predict_concept(text='person', score_thr=0.0)
    cb = new.predict_concept(text='person', score_thr=0.0)
    np.testing.assert_allclose(ca['scores'], cb['scores'], atol=1e-6)
    # the calibrated level scales are part of the published weights
    torch.testing.assert_close(new.model.trunk.neck.level_scale,
                               distiller.student.trunk.neck.level_scale)
