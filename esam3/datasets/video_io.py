# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Reading video frames from ``.mp4`` files (decord) and frame folders.

Every failure names the file it concerns: a missing file raises
:class:`FileNotFoundError`, an unreadable, truncated or non-video file raises
:class:`VideoReadError`, so that a broken sample in a 50k-video dataset can be
found from the log alone.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

FRAME_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


class VideoReadError(OSError):
    """A video file or frame exists but cannot be decoded."""


def _open_reader(path: str, num_threads: int = 1):
    """Open ``path`` with :class:`decord.VideoReader`, naming it on error."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'video file not found: {path}')
    try:
        import decord
    except ImportError as e:  # pragma: no cover - decord is a requirement
        raise ImportError('decord is required to read videos: '
                          'pip install decord') from e
    try:
        reader = decord.VideoReader(path, num_threads=num_threads)
        num_frames = len(reader)
    except Exception as e:  # decord raises DECORDError / RuntimeError
        raise VideoReadError(
            f'cannot read video {path} (unreadable, truncated or not a '
            f'video): {str(e).splitlines()[0][:200]}') from e
    if num_frames <= 0:
        raise VideoReadError(f'video {path} has no decodable frames')
    return reader


def probe_video(path: str) -> Dict[str, float]:
    """Frame count, size and frame rate of a video file.

    Args:
        path (str): Path of the video.

    Returns:
        dict: ``num_frames`` (int), ``height`` (int), ``width`` (int) and
        ``fps`` (float) as reported by the decoder.
    """
    reader = _open_reader(path)
    try:
        height, width = reader[0].shape[:2]
        fps = float(reader.get_avg_fps())
    except Exception as e:
        raise VideoReadError(
            f'cannot decode the first frame of {path}: {e}') from e
    return dict(
        num_frames=len(reader), height=int(height), width=int(width), fps=fps)


def read_video_frames(path: str,
                      frame_ids: Optional[Sequence[int]] = None,
                      to_bgr: bool = True,
                      num_threads: int = 1) -> List[np.ndarray]:
    """Decode some frames of a video file.

    Args:
        path (str): Path of the video (any container decord/FFmpeg reads).
        frame_ids (Sequence[int], optional): 0-based frame indices to decode,
            in any order. ``None`` decodes every frame.
        to_bgr (bool): Return BGR (mmcv convention) instead of RGB frames.
            Defaults to True.
        num_threads (int): Decoder threads. Defaults to 1.

    Returns:
        list[np.ndarray]: ``uint8`` frames of shape ``(H, W, 3)``.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        VideoReadError: If the file cannot be decoded, or a requested frame
            lies beyond the decodable frames (e.g. a truncated file).
    """
    reader = _open_reader(path, num_threads)
    num_frames = len(reader)
    ids = list(range(num_frames)) if frame_ids is None else [
        int(i) for i in frame_ids
    ]
    bad = [i for i in ids if i < 0 or i >= num_frames]
    if bad:
        raise VideoReadError(
            f'video {path} has {num_frames} decodable frames; requested '
            f'frame(s) {bad[:5]} are out of range (truncated video or '
            'annotation/video mismatch)')
    if not ids:
        return []
    try:
        batch = reader.get_batch(ids).asnumpy()
    except Exception as e:
        raise VideoReadError(
            f'failed to decode frames {ids[:5]}... of {path}: '
            f'{str(e).splitlines()[0][:200]}') from e
    if batch.ndim != 4 or batch.shape[0] != len(ids):
        raise VideoReadError(
            f'decoding {path} returned {batch.shape} for {len(ids)} frames')
    frames = [
        np.ascontiguousarray(f[..., ::-1] if to_bgr else f) for f in batch
    ]
    return frames


def list_frame_files(
        folder: str,
        extensions: Sequence[str] = FRAME_EXTENSIONS) -> List[str]:
    """Sorted file names of the frames stored in a folder.

    Args:
        folder (str): Folder holding one image per frame (e.g. DAVIS
            ``JPEGImages/480p/<video>``).
        extensions (Sequence[str]): Accepted (lower-case) file extensions.

    Returns:
        list[str]: File names (not paths), sorted.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'frame folder not found: {folder}')
    return sorted(
        f for f in os.listdir(folder)
        if osp.splitext(f)[1].lower() in extensions)


def read_frame_files(paths: Sequence[str],
                     to_bgr: bool = True) -> List[np.ndarray]:
    """Read frame images, raising an error that names any unreadable file.

    Args:
        paths (Sequence[str]): Image paths, one per frame.
        to_bgr (bool): Return BGR frames (mmcv convention). Defaults to True.

    Returns:
        list[np.ndarray]: ``uint8`` frames of shape ``(H, W, 3)``.
    """
    frames = []
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'frame image not found: {path}')
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise VideoReadError(f'cannot decode frame image {path}')
        frames.append(img if to_bgr else np.ascontiguousarray(img[..., ::-1]))
    return frames
