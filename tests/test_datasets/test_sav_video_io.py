# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Video reading errors name the offending file."""
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

from esam3.datasets.video_io import (VideoReadError, list_frame_files,
                                     probe_video, read_frame_files,
                                     read_video_frames)

MP4 = 'data/samples/sav/sav_000001.mp4'


def test_read_frames_in_any_order(repo_root):
    path = osp.join(repo_root, MP4)
    frames = read_video_frames(path, [8, 0, 8])
    assert len(frames) == 3 and frames[0].shape == (144, 176, 3)
    assert np.array_equal(frames[0], frames[2])
    rgb = read_video_frames(path, [0], to_bgr=False)[0]
    assert np.array_equal(rgb, frames[1][..., ::-1])


def test_truncated_video_error_names_file(repo_root, tmp_path):
    data = open(osp.join(repo_root, MP4), 'rb').read()
    bad = tmp_path / 'truncated.mp4'
    bad.write_bytes(data[:len(data) // 2])
    with pytest.raises(VideoReadError, match='truncated.mp4'):
        read_video_frames(str(bad), [0])
    with pytest.raises(VideoReadError, match='truncated.mp4'):
        probe_video(str(bad))


def test_text_file_renamed_mp4(tmp_path):
    bad = tmp_path / 'notes.mp4'
    bad.write_text('this is not a video\n' * 20)
    with pytest.raises(VideoReadError, match='notes.mp4'):
        read_video_frames(str(bad))


def test_missing_and_out_of_range(repo_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.mp4'):
        read_video_frames(str(tmp_path / 'nothere.mp4'))
    with pytest.raises(VideoReadError, match='out of range'):
        read_video_frames(osp.join(repo_root, MP4), [47, 48])


def test_frame_folder(repo_root, tmp_path):
    src = osp.join(repo_root, 'data/samples/davis/JPEGImages/480p/carphone')
    for name in ('00000.jpg', '00001.jpg'):
        shutil.copy(osp.join(src, name), tmp_path / name)
    (tmp_path / 'readme.txt').write_text('ignored')
    names = list_frame_files(str(tmp_path))
    assert names == ['00000.jpg', '00001.jpg']
    frames = read_frame_files([str(tmp_path / n) for n in names])
    assert frames[0].shape == (144, 176, 3)
    (tmp_path / '00002.jpg').write_bytes(b'garbage')
    with pytest.raises(VideoReadError, match='00002.jpg'):
        read_frame_files([str(tmp_path / '00002.jpg')])
    assert cv2.imread(str(tmp_path / '00002.jpg')) is None
