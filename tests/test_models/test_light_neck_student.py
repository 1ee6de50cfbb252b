# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Light-neck students: the levels SAM3's heads read, build-time shape
checks, the neck-level feature term of Stage 1 and the Stage 1 -> 2
hand-over."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope
from transformers import Sam3Config

import esam3  # noqa: F401
from esam3.models.heads.sam3_heads import read_level_shapes
from esam3.models.necks import NeckLevels
from esam3.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENTS = sorted(
    osp.basename(p)[:-3]
    for p in glob.glob(osp.join(REPO, 'configs/_base_/models/students/*.py')))


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('esam3')


def _cfg(path):
    return Config.fromfile(osp.join(REPO, path))


@pytest.mark.parametrize('student', STUDENTS)
def test_every_student_makes_the_read_levels_at_1008(student):
    """With the shipping neck (configs/_base_/models/sam3.py) each zoo student
    makes, at 1008 px, exactly the levels SAM3's tracker and detector heads
    read (meta device: shapes only, no compute)."""
    assert len(STUDENTS) == 9
    neck = _cfg('configs/_base_/models/sam3.py').student_neck
    backbone = _cfg(
        f'configs/_base_/models/students/{student}.py').student_backbone
    with torch.device('meta'):
        trunk = MODELS.build(
            dict(type='StudentTrunk', backbone=backbone, neck=neck))
        feats = trunk(torch.empty(1, 3, 1008, 1008))
    assert isinstance(feats, NeckLevels)
    read = read_level_shapes(Sam3Config().vision_config, (72, 72),
                             ('tracker', 'detector'))
    assert read['tracker'] == [(256, 288, 288), (256, 144, 144),
                               (256, 72, 72)]  # 36x36 is read by no head
    for branch, shapes in read.items():
        made = [tuple(lv.shape[1:]) for lv in feats.levels(branch)]
        assert made == shapes, (student, branch)


def _tiny_student(**neck):
    cfg = _cfg('configs/stage1/tiny.py')
    student = cfg.model.student
    student.trunk.neck.update(neck)
    return student


@pytest.mark.parametrize('neck,match', [
    (dict(level_scales=(4.0, 2.0)), r'tracker heads read 3 levels .* makes 2'),
    (dict(out_channels=dict(tracker=16, detector=32, video=128)),
     r'tracker level 0: the student neck makes \(C, h, w\) = '
     r'\(16, 64, 64\), the SAM3 tracker heads read \(32, 64, 64\)'),
    (dict(out_sizes=[64, 32, 8]),
     r'level 2: the student neck makes \(C, h, w\) = \(32, 8, 8\), the SAM3'
     r' tracker heads read \(32, 16, 16\)'),
    (dict(branches=('tracker', ),
          out_channels=32), r'makes no levels for the SAM3 detector neck'),
])
def test_level_mismatch_fails_at_build_time(neck, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(_tiny_student(**neck))


def test_video_level_mismatch_fails_at_build_time():
    cfg = _cfg('configs/stage3/tiny.py')
    student = cfg.model.student
    student.trunk.neck.out_channels['video'] = 64
    with pytest.raises(
            ValueError,
            match=r"(?s)'video' levels.*"
            r'\(64, 64, 64\).*\(128, 64, 64\)'):
        MODELS.build(student)
    s2 = _cfg('configs/stage2/tiny.py').model.student
    s2.level_branch = 'tracker'  # 32 wide, the tiny video tracker reads 128
    with pytest.raises(ValueError, match=r'\(32, 64, 64\).*\(128, 64, 64\)'):
        MODELS.build(s2)


def test_light_student_drops_sam3_necks_and_computes_lazily():
    torch.manual_seed(0)
    model = MODELS.build(_tiny_student()).eval()
    names = [n for n, _ in model.heads.named_parameters()]
    assert not [n for n in names if 'vision_encoder.neck' in n]
    feats = model.encode_trunk(torch.randn(1, 3, 224, 224))
    with torch.no_grad():
        model.heads.tracker_image_embeddings(feats)
        assert feats.computed == ('tracker', )
        model.heads.detector_features(feats)
    assert feats.computed == ('tracker', 'detector')
    with pytest.raises(TypeError, match='pass NeckLevels'):
        model.heads.tracker_fpn(torch.zeros(1, 32, 16, 16))


class _FixedNeck:
    """Stands in for a light neck: returns given levels."""
    branches = ('tracker', )

    def __init__(self, levels):
        self._levels = levels

    def top_down(self, feats, pixel_values=None):
        return []

    def level_maps(self, top_down, grid):
        return []

    def branch(self, top_down, name, grid, level_maps=None):
        return self._levels


def test_neck_level_feature_loss_by_hand():
    """Per level: masked MSE / teacher variance on the valid pixels, times
    the level weight; padding is excluded."""
    distiller = MODELS.build(_cfg('configs/stage1/tiny.py').model)
    distiller.feat_level_weights = {'tracker': [0.5, 2.0]}
    # image 112 x 224 in a 224 canvas: rows 0-1 of a 4x4 level are valid
    ds = DetDataSample(metainfo=dict(img_shape=(112, 224)))
    t = [torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 2, 2)]
    t[0][0, 0, :2] = torch.tensor([[0., 2, 0, 2], [2, 0, 2, 0]])  # var 1
    t[1][0, 0, :1] = torch.tensor([1., 5.])  # valid row 0: var 4
    s = [t[0] + 1.0, t[1] + 4.0]  # squared error 1 and 16 where valid
    s[0][..., 2:, :] = 1e3  # padding: ignored
    s[1][..., 1:, :] = -1e3
    feats = NeckLevels([torch.zeros(1)], _FixedNeck(s), (4, 4))
    distiller.teacher_levels = lambda trunk, neck: t
    losses = distiller.feature_losses(feats, torch.zeros(1), [ds], (224, 224))
    assert set(losses) == {'loss_feat_tracker0', 'loss_feat_tracker1'}
    assert losses['loss_feat_tracker0'].item() == pytest.approx(0.5 * 1 / 1)
    assert losses['loss_feat_tracker1'].item() == pytest.approx(2.0 * 16 / 4)


def test_calibration_matches_teacher_level_magnitudes():
    torch.manual_seed(0)
    distiller = MODELS.build(_cfg('configs/stage1/tiny.py').model)
    neck = distiller.student.trunk.neck
    x = torch.randn(2, 3, 224, 224)
    ds = [DetDataSample(metainfo=dict(img_shape=(224, 224)))] * 2
    feats = distiller.student.encode_trunk(x)
    t_trunk = distiller.teacher.encode_trunk(x)
    assert not bool(neck.calibrated)
    distiller.calibrate_neck(feats, t_trunk, ds, (224, 224))
    assert bool(neck.calibrated) and feats.computed == ()
    valid = torch.ones(2, 1, 1, 1)
    for branch in ('tracker', 'detector'):
        for s, t in zip(
                feats.levels(branch),
                distiller.teacher_levels(t_trunk, branch)):
            ratio = distiller.masked_var(s, valid.expand(
                2, 1, *s.shape[2:])) / distiller.masked_var(
                    t, valid.expand(2, 1, *t.shape[2:]))
            assert ratio.item() == pytest.approx(1.0, rel=1e-3)
    # the scales are weights: saved, and the training step is connected
    assert 'trunk.neck.level_scale' in distiller.student.state_dict()


def test_stage1_to_stage2_hand_over_is_strict(tmp_path):
    torch.manual_seed(0)
    s1 = MODELS.build(_cfg('configs/stage1/tiny.py').model)
    s1.student.trunk.neck.calibrate({'tracker': [2.0, 3.0, 4.0]})
    path = str(tmp_path / 's1.pth')
    torch.save(dict(state_dict=s1.state_dict()), path)
    s2 = _cfg('configs/stage2/tiny.py').model.student
    s2.trunk_checkpoint = path
    tracker = MODELS.build(s2)
    for k, v in s1.student.trunk.state_dict().items():
        torch.testing.assert_close(tracker.trunk.state_dict()[k], v)
    # the tracker reads the student's 'video' levels, SAM3's neck is gone
    assert not [
        n for n, _ in tracker.heads.named_parameters()
        if n.startswith('vision_encoder.neck')
    ]
    with torch.no_grad():
        feats = tracker.encode_trunk(torch.randn(1, 3, 224, 224))
        fpn, pos = tracker.frame_features(feats)
    assert feats.computed == ('video', )
    # high-res levels through the tiny tracker's conv_s0 / conv_s1
    assert [tuple(f.shape) for f in fpn] == [(1, 16, 64, 64), (1, 32, 32, 32),
                                             (1, 128, 16, 16)]
    assert [tuple(p.shape)
            for p in pos] == [(1, 128, 64, 64), (1, 128, 32, 32),
                              (1, 128, 16, 16)]
    # a trunk-mode Stage 1 checkpoint does not load into a light student
    trunk_mode = MODELS.build(_cfg('configs/stage1/tiny_trunk.py').model)
    torch.save(dict(state_dict=trunk_mode.state_dict()), path)
    with pytest.raises(Exception, match='(?s)missing.*neck'):
        MODELS.build(s2)


def test_teacher_shares_frozen_heads_but_keeps_its_necks():
    """share_frozen_heads with a light-neck student: the teacher uses the
    student's frozen modules except the SAM3 necks the student dropped."""
    distiller = MODELS.build(_cfg('configs/stage1/tiny.py').model)
    s_heads, t_heads = distiller.student.heads, distiller.teacher.heads
    assert t_heads.detector.text_encoder is s_heads.detector.text_encoder
    assert t_heads.detector.detr_encoder is s_heads.detector.detr_encoder
    assert t_heads.tracker.prompt_encoder is s_heads.tracker.prompt_encoder
    for neck in ('detector', 'tracker'):
        t_neck = getattr(t_heads, neck).vision_encoder.neck
        assert t_neck is not getattr(s_heads, neck).vision_encoder.neck
        assert len(t_neck.fpn_layers) == 4
    with torch.no_grad():
        trunk = distiller.teacher.encode_trunk(torch.randn(1, 3, 224, 224))
        levels = distiller.teacher_levels(trunk, 'detector')
    assert [tuple(lv.shape) for lv in levels] == [(1, 32, 64, 64),
                                                  (1, 32, 32, 32),
                                                  (1, 32, 16, 16)]
