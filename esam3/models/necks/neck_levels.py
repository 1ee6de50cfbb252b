# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Lazily computed FPN levels of a light student neck."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

from torch import Tensor, nn

Index = Union[int, slice, Tensor]


class NeckLevels:
    """What a light-neck student encoder hands to the SAM3 heads.

    Holds the backbone maps of a batch and the neck that turns them into
    the FPN levels of each SAM3 neck it replaces (``'tracker'``,
    ``'detector'``). A branch is computed the first time it is asked for
    and then kept, so a box prompt never pays for the detector levels and a
    text prompt never pays for the tracker levels; the neck's shared
    top-down pass runs at most once.

    Args:
        feats: backbone maps ``[B, C_i, H_i, W_i]``.
        neck: a neck with ``top_down(feats, pixel_values)``,
            ``level_maps(top_down, grid)`` (what all branches share) and
            ``branch(top_down, name, grid, level_maps)`` (e.g.
            :class:`~esam3.models.necks.Sam3LightFPN`).
        grid: the SAM3 trunk grid ``(h, w)`` of this input (``S / 14``).
        pixel_values: the normalised images, for a neck with a
            patch-embedding branch; else None.
    """

    def __init__(self,
                 feats: Sequence[Tensor],
                 neck: nn.Module,
                 grid: Tuple[int, int],
                 pixel_values: Optional[Tensor] = None) -> None:
        self.feats = list(feats)
        self.neck = neck
        self.grid = (int(grid[0]), int(grid[1]))
        self.pixel_values = pixel_values
        self._top_down: Optional[List[Tensor]] = None
        self._level_maps: Optional[List[Tensor]] = None
        self._levels: Dict[str, List[Tensor]] = {}

    @property
    def batch_size(self) -> int:
        return int(self.feats[0].shape[0])

    @property
    def branches(self) -> Tuple[str, ...]:
        return tuple(self.neck.branches)

    @property
    def computed(self) -> Tuple[str, ...]:
        """Branches computed so far (for tests and benchmarks)."""
        return tuple(self._levels)

    def top_down(self) -> List[Tensor]:
        if self._top_down is None:
            self._top_down = self.neck.top_down(self.feats, self.pixel_values)
        return self._top_down

    def levels(self, branch: str) -> List[Tensor]:
        """The levels of SAM3 neck ``branch``, finest first, each ``[B, C, H_l,
        W_l]`` (computed on first use, then cached)."""
        if branch not in self.neck.branches:
            raise KeyError(f'this student neck makes the levels of '
                           f'{list(self.neck.branches)}, not {branch!r}')
        if branch not in self._levels:
            td = self.top_down()
            # the branches' shared per-level inputs, computed once
            if self._level_maps is None:
                self._level_maps = self.neck.level_maps(td, self.grid)
            self._levels[branch] = self.neck.branch(td, branch, self.grid,
                                                    self._level_maps)
        return self._levels[branch]

    def clear(self) -> None:
        """Forget everything the neck computed (e.g. after it changed, or when
        it ran without gradients); the backbone maps stay."""
        self._top_down = None
        self._level_maps = None
        self._levels = {}

    def select(self, index: Index) -> 'NeckLevels':
        """The same features for the batch rows ``index`` (an int keeps the
        batch dimension).

        What is already computed is sliced, not redone.
        """
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        out = NeckLevels(
            [f[index] for f in self.feats], self.neck, self.grid,
            None if self.pixel_values is None else self.pixel_values[index])
        if self._top_down is not None:
            out._top_down = [t[index] for t in self._top_down]
        if self._level_maps is not None:
            out._level_maps = [t[index] for t in self._level_maps]
        out._levels = {
            k: [lv[index] for lv in v]
            for k, v in self._levels.items()
        }
        return out

    def frames(self, batch: int, num_frames: int) -> List['NeckLevels']:
        """Split a batch of ``batch x num_frames`` frames (clip-major, as
        ``clips.flatten(0, 1)`` orders them) into one entry per frame index
        holding the ``batch`` clips' rows of that frame."""
        if batch * num_frames != self.batch_size:
            raise ValueError(f'{self.batch_size} rows are not {batch} clips '
                             f'x {num_frames} frames')
        return [
            self.select(slice(t, None, num_frames)) for t in range(num_frames)
        ]


def batch_size_of(features: Union[Tensor, NeckLevels]) -> int:
    """Batch size of a trunk map or of :class:`NeckLevels`."""
    if isinstance(features, NeckLevels):
        return features.batch_size
    return int(features.shape[0])
