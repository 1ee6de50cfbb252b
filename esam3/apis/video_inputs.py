# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Random access to the frames of a video file or a frame folder."""
import os.path as osp
from typing import Callable, List

import cv2
import numpy as np
import torch

from esam3.datasets.video_io import (VideoReadError, list_frame_files,
                                     read_frame_files)


class VideoFrames:
    """Frames of an ``.mp4`` (any container decord reads) or of a folder of
    images (DAVIS layout, sorted by name), decoded on demand as BGR uint8.

    The first frame is decoded at construction, so a missing, empty,
    truncated or non-video input fails immediately with its path.

    Args:
        path: video file or frame folder.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        VideoReadError: it cannot be decoded (the message names it).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._reader = None
        self._files: List[str] = []
        if osp.isdir(path):
            self._files = [osp.join(path, f) for f in list_frame_files(path)]
            if not self._files:
                raise VideoReadError(f'no frame images (.jpg/.png) in {path}')
            self.num_frames = len(self._files)
            self.fps = 24.0
        elif osp.isfile(path):
            self._reader = self._open(path)
            self.num_frames = len(self._reader)
            self.fps = float(self._reader.get_avg_fps() or 24.0)
        else:
            raise FileNotFoundError(f'video not found: {path}')
        first = self[0]
        self.height, self.width = first.shape[:2]

    @staticmethod
    def _open(path: str):
        try:
            import decord
        except ImportError as err:  # pragma: no cover - a requirement
            raise ImportError('decord is needed to read videos: '
                              'pip install decord') from err
        try:
            reader = decord.VideoReader(path, num_threads=1)
            if len(reader) <= 0:
                raise ValueError('no frames')
        except Exception as err:
            msg = str(err).splitlines()[0][:200] if str(err) else type(
                err).__name__
            raise VideoReadError(f'cannot decode video {path} (unreadable, '
                                 f'truncated or not a video): {msg}') from err
        return reader

    def __len__(self) -> int:
        return self.num_frames

    def __getitem__(self, idx: int) -> np.ndarray:
        """Frame ``idx`` as a contiguous BGR uint8 ``[H, W, 3]`` array."""
        if not 0 <= idx < self.num_frames:
            raise IndexError(f'frame {idx} out of range: {self.path} has '
                             f'{self.num_frames} frames')
        if self._files:
            return read_frame_files([self._files[idx]])[0]
        try:
            rgb = self._reader[idx].asnumpy()
        except Exception as err:
            raise VideoReadError(f'cannot decode frame {idx} of '
                                 f'{self.path}: {err}') from err
        return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


class LazyFrameDict(dict):
    """``{frame_idx: tensor}`` that builds missing frames on access and keeps
    only the most recent few (for transformers' video inference session, which
    reads ``processed_frames[idx]`` and ``len()``).

    Args:
        num_frames: video length reported by ``len()``.
        load: ``frame_idx -> tensor`` (e.g. decode + preprocess).
        keep: frames kept in memory.
    """

    def __init__(self,
                 num_frames: int,
                 load: Callable[[int], torch.Tensor],
                 keep: int = 4) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.load = load
        self.keep = keep
        self._order: List[int] = []

    def __len__(self) -> int:
        return self.num_frames

    def __missing__(self, idx: int) -> torch.Tensor:
        if not 0 <= idx < self.num_frames:
            raise KeyError(idx)
        value = self.load(idx)
        self[idx] = value
        self._order.append(idx)
        while len(self._order) > self.keep:
            self.pop(self._order.pop(0), None)
        return value


__all__ = ['VideoFrames', 'LazyFrameDict', 'VideoReadError']
