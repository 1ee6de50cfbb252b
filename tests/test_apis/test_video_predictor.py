# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""VideoPredictor on the Stage 2 student tracker and the SAM3 teacher."""
import os.path as osp

import numpy as np
import pytest
import torch
from api_fixtures import (DAVIS, SAV_VIDEO, STAGE1_TINY, STAGE2_TINY,
                          stage1_distiller, stage2_distiller)
from PIL import Image

from esam3.apis.video_predictor import VideoPredictor
from esam3.datasets.video_io import VideoReadError

H, W = 144, 176  # the bundled clips
BOX = [40, 30, 120, 110]


@pytest.fixture(scope='module')
def student_predictor(tmp_path_factory):
    """Built from the Stage 2 config + a distiller checkpoint (strict)."""
    distiller, _ = stage2_distiller()
    ckpt = tmp_path_factory.mktemp('s2') / 'stage2.pth'
    torch.save({'state_dict': distiller.state_dict()}, ckpt)
    torch.manual_seed(7)
    pred = VideoPredictor.from_config(STAGE2_TINY, str(ckpt))
    ref = distiller.student.state_dict()
    for key, value in pred.model.state_dict().items():
        assert torch.equal(value, ref[key]), key
    return pred


def test_student_track(student_predictor):
    pred = student_predictor
    info = pred.init_state(SAV_VIDEO)
    assert info['num_frames'] == 48
    assert (info['height'], info['width']) == (H, W)
    f, ids, first = pred.add_prompt(0, 1, box=BOX)
    assert (f, ids) == (0, [1]) and first.shape == (1, H, W)
    assert first.dtype == bool
    _, _, clicked = pred.add_prompt(
        2, 5, points=[[60, 60], [150, 20]], labels=[1, 0])
    assert clicked.shape == (1, H, W)
    out = list(pred.propagate(max_frames=3))
    assert [o[0] for o in out] == [0, 1, 2]
    for _, ids, masks in out:
        assert ids == [1, 5] and masks.shape == (2, H, W)
        assert masks.dtype == bool
    # on a prompted frame the track gives the prompt's own answer
    np.testing.assert_array_equal(out[0][2][0], first[0])
    np.testing.assert_array_equal(out[2][2][1], clicked[0])
    back = list(pred.propagate(start_frame=2, reverse=True))
    assert [o[0] for o in back] == [2, 1, 0]
    np.testing.assert_array_equal(back[0][2][1], clicked[0])

    pred.remove_object(5)
    assert pred.obj_ids == [1]
    _, ids, masks = next(pred.propagate(start_frame=1))
    assert ids == [1] and masks.shape == (1, H, W)
    with pytest.raises(KeyError, match='no object 5'):
        pred.remove_object(5)
    pred.reset_state()
    with pytest.raises(RuntimeError, match='add_prompt'):
        next(pred.propagate())


def test_frame_folder_mask_prompt(student_predictor):
    pred = student_predictor
    frames = osp.join(DAVIS, 'JPEGImages/480p/carphone')
    info = pred.init_state(frames)
    assert info['num_frames'] == 48
    label = np.asarray(
        Image.open(osp.join(DAVIS, 'Annotations/480p/carphone/00000.png')))
    values, counts = np.unique(label[label > 0], return_counts=True)
    mask = label == values[counts.argmax()]  # the person (3170 px)
    _, _, answer = pred.add_prompt(0, 3, mask=mask)
    iou = (answer[0] & mask).sum() / (answer[0] | mask).sum()
    assert iou > 0.9  # a mask prompt is taken as the answer
    out = list(pred.propagate(max_frames=2))
    assert [o[0] for o in out] == [0, 1]
    assert out[1][2].shape == (1, H, W)


def test_teacher_backend():
    pred = VideoPredictor.from_config(STAGE2_TINY, use_teacher=True)
    assert pred.is_teacher
    pred.init_state(SAV_VIDEO)
    _, ids, first = pred.add_prompt(
        1, 2, box=BOX, points=[[80, 70]], labels=[1])
    assert ids == [2] and first.shape == (1, H, W)
    out = list(pred.propagate(start_frame=1, max_frames=2))
    assert [o[0] for o in out] == [1, 2]
    assert out[0][1] == [2] and out[0][2].shape == (1, H, W)
    np.testing.assert_array_equal(out[0][2][0], first[0])


def test_errors(tmp_path, student_predictor):
    pred = student_predictor
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'\x00not a video' * 100)
    with pytest.raises(VideoReadError, match='broken.mp4'):
        pred.init_state(str(bad))
    with pytest.raises(FileNotFoundError, match='missing.mp4'):
        pred.init_state(str(tmp_path / 'missing.mp4'))
    empty = tmp_path / 'frames'
    empty.mkdir()
    with pytest.raises(VideoReadError, match='frames'):
        pred.init_state(str(empty))

    fresh = VideoPredictor(pred.model)
    with pytest.raises(RuntimeError, match='init_state'):
        fresh.add_prompt(0, 1, box=BOX)
    fresh.init_state(SAV_VIDEO)
    with pytest.raises(IndexError, match='48 frames'):
        fresh.add_prompt(48, 1, box=BOX)
    with pytest.raises(ValueError, match='outside'):
        fresh.add_prompt(0, 1, points=[[500, 10]], labels=[1])
    with pytest.raises(ValueError, match='zero-area'):
        fresh.add_prompt(0, 1, box=[10, 10, 10, 50])
    with pytest.raises(ValueError, match='needs points'):
        fresh.add_prompt(0, 1)
    with pytest.raises(ValueError, match='frame size'):
        fresh.add_prompt(0, 1, mask=np.ones((10, 10), bool))
    assert fresh.obj_ids == []  # failed prompts leave no object behind

    image_model = stage1_distiller()[0].student
    with pytest.raises(TypeError, match='Stage 2'):
        VideoPredictor(image_model)
    with pytest.raises(TypeError, match='Stage 2'):
        VideoPredictor.from_config(STAGE1_TINY)


def test_stage3_student_tracks_with_its_shared_encoder(tmp_path):
    """A Stage 3 checkpoint (encoder + concept heads + Perceiver tracker)
    drives the VideoPredictor too: its tracker runs on the shared encoder."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from esam3.registry import MODELS
    init_default_scope('esam3')
    stage3 = osp.join(osp.dirname(STAGE2_TINY), '..', 'stage3', 'tiny.py')
    cfg = Config.fromfile(stage3, format_python_code=False)
    torch.manual_seed(0)
    student = MODELS.build(cfg.model.student)
    ckpt = tmp_path / 's3.pth'
    torch.save(
        {
            'state_dict': {
                'student.' + k: v
                for k, v in student.state_dict().items()
            }
        }, ckpt)
    pred = VideoPredictor.from_config(stage3, str(ckpt))
    assert pred.model is not student and type(pred.model).__name__ == \
        'Sam3VideoTrackerStudent'
    for k, v in pred.model.state_dict().items():
        assert torch.equal(v, student.video.state_dict()[k]), k
    pred.init_state(SAV_VIDEO)
    _, ids, first = pred.add_prompt(0, 1, box=BOX)
    out = list(pred.propagate(max_frames=2))
    assert [o[0] for o in out] == [0, 1] and out[1][2].shape == (1, H, W)
    np.testing.assert_array_equal(out[0][2][0], first[0])
    # the frames go through the Stage 3 encoder (trunk=None in the tracker)
    assert pred.model.trunk is None
