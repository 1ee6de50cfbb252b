# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import copy
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from pycocotools import mask as mask_utils

from esam3.datasets import SACoVideoDataset
from esam3.datasets.sav_dataset import SAVAnnotationError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ROOT = osp.join(REPO, 'data/samples')
ANN = osp.join(ROOT, 'saco_video/annotations.json')
PREFIX = dict(img='davis/JPEGImages/480p/')
PIPELINE = [
    dict(type='LoadVideoClip'),
    dict(type='PackVideoInputs', meta_keys=('text', 'is_negative', 'label'))
]


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('esam3')


def build(ann_file=ANN, **kw):
    kw.setdefault('pipeline', PIPELINE)
    return SACoVideoDataset(
        data_root=ROOT, ann_file=ann_file, data_prefix=PREFIX, **kw)


def test_bundled_pairs_positive_and_negative():
    ds = build(clip_mode='full', test_mode=True)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['text'] for i in infos
            ] == ['bow tie', 'head', 'seat cover', 'dog', 'bicycle']
    assert [i['is_negative'] for i in infos] == [False] * 3 + [True] * 2
    sample = ds[1]  # "head": whole video, one masklet
    frames = sample['data_samples'].video_data_samples
    assert sample['inputs'].shape[0] == 12 == len(frames)
    assert frames[0].metainfo['text'] == 'head'
    # masks equal the DAVIS palette PNG of that frame (object id 2)
    from PIL import Image
    png = np.asarray(
        Image.open(
            osp.join(ROOT, 'davis/Annotations/480p/carphone/00008.png')))
    np.testing.assert_array_equal(frames[2].gt_instances.masks.to_ndarray()[0],
                                  png == 2)
    neg = ds[3]['data_samples'].video_data_samples
    assert all(len(f.gt_instances) == 0 for f in neg)
    assert neg[0].metainfo['is_negative'] is True


def test_random_clips_have_fixed_length_and_start_on_the_object():
    ds = build(num_frames=4, clip_mode='random')
    np.random.seed(0)
    for _ in range(5):
        s = ds[0]
        frames = s['data_samples'].video_data_samples
        assert s['inputs'].shape[0] == 4
        assert frames[0].gt_instances.masks.to_ndarray()[0].any()
        ids = [f.metainfo['frame_id'] for f in frames]
        assert ids == list(range(ids[0], ids[0] + 4))


def _write(tmp_path, ann):
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(ann))
    return str(path)


def _ann():
    with open(ANN) as f:
        return json.load(f)


def test_wrong_segmentation_count_names_the_video(tmp_path):
    ann = _ann()
    ann['annotations'][0]['segmentations'].pop()
    with pytest.raises(
            SAVAnnotationError,
            match='carphone.*11 segmentations'
            ' for 12 frames'):
        build(_write(tmp_path, ann))


def test_rle_of_another_size_is_an_error(tmp_path):
    ann = _ann()
    segs = ann['annotations'][1]['segmentations']
    k = next(i for i, s in enumerate(segs) if s is not None)
    segs[k] = {
        k2: (v.decode() if isinstance(v, bytes) else v)
        for k2, v in mask_utils.encode(
            np.zeros((10, 10), np.uint8, order='F')).items()
    }
    with pytest.raises(SAVAnnotationError, match=f'frame {k}: RLE size'):
        build(_write(tmp_path, ann))


@pytest.mark.parametrize('phrase', ['', '   ', None, 3])
def test_bad_phrase_is_an_error(tmp_path, phrase):
    ann = _ann()
    ann['video_np_pairs'][0]['noun_phrase'] = phrase
    ann['categories'][0]['name'] = phrase
    with pytest.raises(ValueError, match='noun_phrase must be a non-empty'):
        build(_write(tmp_path, ann))


def test_pair_of_unknown_video_is_an_error(tmp_path):
    ann = _ann()
    ann['video_np_pairs'][0]['video_id'] = 99
    with pytest.raises(SAVAnnotationError, match='unknown video_id 99'):
        build(_write(tmp_path, ann))


def test_without_pairs_every_category_with_masklets_is_a_pair(tmp_path):
    ann = copy.deepcopy(_ann())
    del ann['video_np_pairs']
    ds = build(_write(tmp_path, ann))
    assert sorted(ds.get_data_info(i)['text'] for i in range(len(ds))) == \
        ['bow tie', 'head', 'seat cover']
