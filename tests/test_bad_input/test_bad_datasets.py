# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Datasets fed truncated images and garbage RLE ``counts``.

Cases that already held (missing json, wrong RLE size, zero box, a
non-image file, all-invalid roots, bad SA-V / DAVIS / SA-Co files) are
covered in ``tests/test_datasets/test_sa1b_dataset.py``,
``test_sav_dataset.py``, ``test_davis_dataset.py``,
``test_saco_dataset.py`` and ``test_saco_video_dataset.py``.
"""
import json
import shutil

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from mmengine.registry import init_default_scope

from esam3.datasets import utils as dutils
from esam3.datasets.sa1b_dataset import SA1BDataset
from esam3.datasets.sav_dataset import SAVAnnotationError
from esam3.datasets.utils import (InvalidRLEError, UnreadableImageError,
                                  _compressed_counts, check_rle)
from esam3.registry import DATASETS

GARBAGE = 'garbage!!'  # '!' < '0': not an RLE digit; pycocotools: bare error


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def _edit_json(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


@pytest.fixture
def sa1b(tmp_path, repo_root):
    root = tmp_path / 'sa1b'
    shutil.copytree(f'{repo_root}/data/samples/sa1b', root)
    return root


@pytest.fixture
def logs(monkeypatch):
    out = []
    monkeypatch.setattr(dutils, 'print_log', lambda msg, **kw: out.append(msg))
    return out


# ------------------------------------------------------------------- RLE
def test_counts_parser_matches_pycocotools():
    """Run lengths parsed by hand rebuild exactly the mask pycocotools encoded
    (column-major), for random, empty and full masks."""
    rng = np.random.default_rng(0)
    for t in range(60):
        h, w = (int(v) for v in rng.integers(1, 30, 2))
        mask = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        mask[:] = 0 if t == 0 else 1 if t == 1 else mask
        rle = mask_utils.encode(np.asfortranarray(mask))
        runs = _compressed_counts(rle['counts'].decode())
        flat = np.repeat(np.arange(len(runs)) % 2, runs)
        np.testing.assert_array_equal(flat.reshape(w, h).T, mask)
        check_rle(dict(size=[h, w], counts=rle['counts']))  # bytes too
    assert list(_compressed_counts('52')) == [5, 2]  # hand-computed
    # '4' = 4, then '`' (48: more, low bits 16) '0' (0) = 16 -> [4, 16]
    assert list(_compressed_counts('4`0')) == [4, 16]


@pytest.mark.parametrize('counts,match', [
    (GARBAGE, "character '!'|character 'r'"),
    ('52', 'cover 7 pixels, size \\[4, 4\\] has 16'),
    ('', 'cover 0 pixels'),
    ('4`0', 'cover 20 pixels'),
    ('PPPP', 'middle of a value'),
    ([4, -2, 14], 'negative'),
    ([4, 12], None),
])
def test_check_rle_messages(counts, match):
    rle = dict(size=[4, 4], counts=counts)
    if match is None:
        check_rle(rle)
        return
    with pytest.raises(InvalidRLEError, match=match):
        check_rle(rle)


def test_sa1b_garbage_counts_skipped_naming_file_and_id(sa1b, logs):
    ann_id = {}

    def garbage(data):
        data['annotations'][1]['segmentation']['counts'] = GARBAGE
        ann_id['id'] = data['annotations'][1]['id']
        ann_id['n'] = len(data['annotations'])

    _edit_json(sa1b / 'coffee.json', garbage)
    ds = SA1BDataset(data_root=str(sa1b), max_instances=None)
    assert ds.skip_counts == dict(invalid_rle=1)
    coffee = [
        ds.get_data_info(i) for i in range(len(ds))
        if ds.get_data_info(i)['img_path'].endswith('coffee.jpg')
    ][0]
    assert len(coffee['instances']) == ann_id['n'] - 1
    assert ann_id['id'] not in [i['ann_id'] for i in coffee['instances']]
    assert len(logs) == 1 and 'invalid_rle=1' in logs[0]
    assert str(sa1b / 'coffee.json') in logs[0]
    assert f'annotation id {ann_id["id"]}' in logs[0]


def test_sa1b_lazy_parse_counts_and_logs_once(sa1b, monkeypatch):
    """The real SA-1B configs parse lazily: skips met while drawing are
    counted and each reason logged once, naming the file; a malformed
    JSON skips its image instead of stopping training."""
    from esam3.datasets import sa1b_dataset
    logs = []
    monkeypatch.setattr(sa1b_dataset, 'print_log',
                        lambda msg, **kw: logs.append(msg))

    def garbage(data):
        data['annotations'][0]['segmentation']['counts'] = GARBAGE
        garbage.id = data['annotations'][0]['id']

    _edit_json(sa1b / 'coffee.json', garbage)
    (sa1b / 'rocket.json').write_text('{"image": {"height": 1, ')
    ds = SA1BDataset(data_root=str(sa1b), lazy_parse=True)
    assert ds.skip_counts == {}  # nothing parsed yet
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert ds.skip_counts == dict(invalid_rle=1, invalid_json=1)
    assert len(logs) == 2
    rle_log = [m for m in logs if 'skipped invalid_rle' in m][0]
    assert str(sa1b / 'coffee.json') in rle_log
    assert f'annotation id {garbage.id}' in rle_log
    json_log = [m for m in logs if 'skipped invalid_json' in m][0]
    assert str(sa1b / 'rocket.json') in json_log
    rocket = [
        k for k, d in enumerate(infos) if d['img_path'].endswith('rocket.jpg')
    ][0]
    assert infos[rocket]['instances'] == []
    assert ds.prepare_data(rocket) is None  # mmengine draws another
    assert ds.skip_counts['invalid_json'] == 2 and len(logs) == 2
    test_ds = SA1BDataset(data_root=str(sa1b), lazy_parse=True, test_mode=True)
    with pytest.raises(ValueError, match='rocket.json'):
        test_ds.get_data_info(rocket)


def _saco(tmp_path, repo_root, edit, **kwargs):
    root = tmp_path / 'saco'
    shutil.copytree(f'{repo_root}/data/samples/saco', root)
    _edit_json(root / 'annotations.json', edit)
    init_default_scope('esam3')
    return DATASETS.build(
        dict(
            type='SACoDataset',
            data_root=str(root),
            ann_file='annotations.json',
            pipeline=[],
            test_mode=True,
            **kwargs)), root


def test_saco_garbage_counts_skip_the_pair(tmp_path, repo_root, logs):

    def garbage(data):
        ann = data['annotations'][0]
        ann['segmentation']['counts'] = GARBAGE
        garbage.ids = ann['image_id'], ann['id']

    ds, root = _saco(tmp_path, repo_root, garbage)
    assert ds.skip_counts == dict(invalid_rle=1)
    assert len(ds) == 10  # 11 pairs, the broken one skipped (not negative)
    img_id, ann_id = garbage.ids
    assert img_id not in [d['img_id'] for d in _infos(ds)]
    assert len(logs) == 1
    assert str(root / 'annotations.json') in logs[0]
    assert f'image id {img_id} annotation id {ann_id}' in logs[0]


def _infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def test_coco_concept_and_prompt_garbage_counts(tmp_path, repo_root, logs):
    root = tmp_path / 'coco'
    shutil.copytree(f'{repo_root}/data/samples/coco', root)
    ann_file = root / 'annotations' / 'instances_val.json'
    bad = json.loads(ann_file.read_text())['annotations'][0]
    init_default_scope('esam3')
    common = dict(
        data_root=str(root),
        ann_file=str(ann_file),
        data_prefix=dict(img='images/'),
        pipeline=[],
        test_mode=True)

    def build(kind):
        ds = DATASETS.build(dict(type=kind, **common))
        return ds, _infos(ds)

    _, prompt_ref = build('CocoPromptDataset')
    _, concept_ref = build('CocoConceptDataset')

    def garbage(data):
        data['annotations'][0]['segmentation']['counts'] = GARBAGE

    _edit_json(ann_file, garbage)
    logs.clear()
    prompt, infos = build('CocoPromptDataset')
    assert prompt.skip_counts['invalid_rle'] == 1
    assert str(ann_file) in logs[-1]
    assert f'annotation id {bad["id"]}' in logs[-1]
    count = {d['img_id']: len(d['instances']) for d in infos}
    for d in prompt_ref:  # only the broken instance is gone
        assert count[d['img_id']] == len(d['instances']) - (
            d['img_id'] == bad['image_id'])
    concept, infos = build('CocoConceptDataset')
    assert concept.skip_counts == dict(invalid_rle=1)
    assert f'annotation id {bad["id"]}' in logs[-1]

    def pairs(ds_infos):
        return {(d['img_id'], d['text'], d['is_negative']) for d in ds_infos}

    missing = pairs(concept_ref) - pairs(infos)
    assert len(infos) == len(concept_ref) - 1 and len(missing) == 1
    assert next(iter(missing))[0] == bad['image_id']
    assert next(iter(missing))[2] is False  # the positive pair went


def test_saco_video_garbage_counts_named_at_build(tmp_path, repo_root):
    ann_file = tmp_path / 'veval.json'
    data = json.loads(
        open(f'{repo_root}/data/samples/saco_video/annotations.json').read())
    ann = data['annotations'][0]
    k = next(i for i, s in enumerate(ann['segmentations']) if s)
    ann['segmentations'][k]['counts'] = GARBAGE
    ann_file.write_text(json.dumps(data))
    init_default_scope('esam3')
    with pytest.raises(SAVAnnotationError) as info:
        DATASETS.build(
            dict(
                type='SACoVideoDataset',
                ann_file=str(ann_file),
                data_root=f'{repo_root}/data/samples/davis',
                pipeline=[]))
    msg = str(info.value)
    assert str(ann_file) in msg and f'masklet {ann["id"]}' in msg
    assert f'frame {k}' in msg and 'invalid RLE' in msg


# ---------------------------------------------------------- truncated JPEG
def test_truncated_jpeg_skipped_at_build_time(sa1b, logs):
    """PIL's verify() accepts a truncated JPEG; the build-time check now
    decodes it and counts it."""
    from PIL import Image
    _truncate(sa1b / 'camera.jpg')
    with Image.open(sa1b / 'camera.jpg') as img:
        img.verify()  # the old check passes
    ds = SA1BDataset(data_root=str(sa1b))
    assert ds.skip_counts == dict(unreadable_image=1)
    assert 'camera.jpg' not in [d['img_path'][-10:] for d in _infos(ds)]


def _sa1b_with_pipeline(root, test_mode):
    init_default_scope('esam3')
    return DATASETS.build(
        dict(
            type='SA1BDataset',
            data_root=str(root),
            check_images=False,
            test_mode=test_mode,
            max_instances=2,
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadRLEAnnotations')
            ]))


def test_truncated_jpeg_mid_run_is_skipped_and_counted(sa1b, logs):
    """Lazily checked data: training draws another sample; one warning
    per bad file, naming it, with the running total."""
    _truncate(sa1b / 'camera.jpg')
    ds = _sa1b_with_pipeline(sa1b, test_mode=False)
    bad = [
        i for i, d in enumerate(_infos(ds))
        if d['img_path'].endswith('camera.jpg')
    ][0]
    np.random.seed(0)
    for _ in range(2):
        out = ds[bad]  # mmengine redraws at random: may hit it again
        assert not out['img_path'].endswith('camera.jpg')
        assert out['img'].ndim == 3
    assert ds.unreadable.count >= 2 and len(logs) == 1
    assert str(sa1b / 'camera.jpg') in logs[0]
    assert 'unreadable_image=1 file(s), 1 draw(s)' in logs[0]


def test_truncated_jpeg_in_test_mode_names_the_file(sa1b):
    _truncate(sa1b / 'camera.jpg')
    ds = _sa1b_with_pipeline(sa1b, test_mode=True)
    bad = [
        i for i, d in enumerate(_infos(ds))
        if d['img_path'].endswith('camera.jpg')
    ][0]
    with pytest.raises(UnreadableImageError) as info:
        ds[bad]
    assert info.value.filename == str(sa1b / 'camera.jpg')
    assert 'camera.jpg' in str(info.value)
    (sa1b / 'camera.jpg').unlink()
    with pytest.raises(FileNotFoundError):  # missing stays a missing file
        ds[bad]


# ---------------------------------------------------------------- videos
def test_unreadable_video_logged_once_with_totals(tmp_path, repo_root,
                                                  monkeypatch):
    from esam3.datasets import sav_dataset
    logs = []
    monkeypatch.setattr(sav_dataset, 'print_log',
                        lambda msg, **kw: logs.append(msg))
    vid = 'sav_000001'
    src = tmp_path / 'sav'
    shutil.copytree(f'{repo_root}/data/samples/sav', src)
    _truncate(src / f'{vid}.mp4', keep=1 / 3)
    init_default_scope('esam3')
    ds = DATASETS.build(
        dict(type='SAVDataset', data_root=str(src), pipeline=[], num_frames=4))
    probes = []
    real_probe = sav_dataset.probe_video
    monkeypatch.setattr(sav_dataset, 'probe_video',
                        lambda p: probes.append(p) or real_probe(p))
    for _ in range(4):
        assert ds.prepare_data(0) is None
    assert ds.invalid_videos == {vid: 4}
    assert len(logs) == 1 and vid in logs[0]
    assert '1 bad video(s), 1 skipped draw(s)' in logs[0]
    assert len(probes) == 1  # later draws do not decode it again
