# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""The graphs of an export folder, opened on demand and checked against its
manifest (shared by the onnxruntime predictors, parity checks and
benchmarks)."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from torch import Tensor

from .image_encoder_onnx import BRANCH_OUTPUTS
from .onnx_export import PART_GRAPHS, load_manifest
from .ort_session import OrtGraph


class OrtParts:
    """Lazily opened :class:`OrtGraph` per exported graph.

    Args:
        onnx_dir: export folder with its ``esam3_onnx.json``.
        providers, num_threads: onnxruntime settings.

    Raises:
        FileNotFoundError: missing folder / manifest / listed graph.
    """

    def __init__(self,
                 onnx_dir: str,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None) -> None:
        self.onnx_dir = onnx_dir
        self.info = load_manifest(onnx_dir)
        self.providers = providers
        self.num_threads = num_threads
        self._graphs: Dict[str, OrtGraph] = {}
        if 'encoder' not in self.info['files']:
            raise FileNotFoundError(
                f'{onnx_dir}: the manifest lists no encoder graph (files: '
                f'{sorted(self.info["files"])}); re-export with '
                'tools/deployment/export_onnx.py')

    @property
    def parts(self) -> List[str]:
        """Parts whose graphs are all in the folder."""
        files = self.info['files']
        return [
            p for p, graphs in PART_GRAPHS.items()
            if all(g in files for g in graphs)
        ]

    def has(self, part: str) -> bool:
        return part in self.parts

    def graph(self, part: str, name: Optional[str] = None) -> OrtGraph:
        """Graph ``name`` (default: the part's first) of ``part``.

        Raises:
            ValueError: the export lacks the part (naming how to add it),
                or a graph's fixed input shapes differ from the manifest's
                (a graph exported at another size).
        """
        name = name or PART_GRAPHS[part][0]
        if name in self._graphs:
            return self._graphs[name]
        if not self.has(part):
            raise ValueError(
                f'{self.onnx_dir} has no {part} part (exported parts: '
                f'{self.parts}); export it with tools/deployment/'
                f'export_onnx.py CONFIG [CKPT] --out {self.onnx_dir} '
                f'--parts ... {part}')
        graph = OrtGraph(
            osp.join(self.onnx_dir, self.info['files'][name]), part,
            self.providers, self.num_threads)
        self._check_against_manifest(graph, part, name)
        self._graphs[name] = graph
        return graph

    def _check_against_manifest(self, graph: OrtGraph, part: str,
                                name: str) -> None:
        """Fixed input dimensions of the graph must be the manifest's."""
        recorded = self.info.get('parts', {}).get(part, {}).get('inputs', {})
        recorded = recorded.get(name, recorded)  # per graph for some parts
        for inp, shape in recorded.items():
            if inp not in graph.inputs or not isinstance(shape, list):
                continue
            got = graph.input_shape(inp)
            fixed = [(a, b) for a, b in zip(shape, got)
                     if isinstance(a, int) and isinstance(b, int)]
            if len(got) != len(shape) or any(a != b for a, b in fixed):
                raise ValueError(
                    f'{graph.path}: {part} graph {name} takes {inp!r} of '
                    f'shape {got}, the manifest of {self.onnx_dir} expects '
                    f'{shape} (img_size {self.info["img_size"]}): the graph '
                    'was exported at another size or from another model; '
                    're-export the folder')

    def encode(self, pixels) -> Dict[str, np.ndarray]:
        """``encoder.onnx`` on normalised pixels ``[1, 3, S, S]``."""
        if isinstance(pixels, Tensor):
            pixels = pixels.detach().cpu().numpy()
        return self.graph('encoder')(
            pixel_values=np.ascontiguousarray(pixels, np.float32))

    def branch(self,
               features: Dict[str, np.ndarray],
               branch: str,
               part: str,
               required: bool = True) -> Optional[List[np.ndarray]]:
        """The three encoder outputs a part reads (None when absent and not
        ``required``)."""
        names = BRANCH_OUTPUTS[branch]
        if all(n in features for n in names):
            return [features[n] for n in names]
        if not required:
            return None
        raise ValueError(
            f'{self.onnx_dir}: encoder.onnx has no {branch} outputs '
            f'{list(names)} for the {part} part (it outputs '
            f'{sorted(features)}); re-export with --parts ... {part}')
