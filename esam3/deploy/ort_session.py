# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Onnxruntime session creation shared by the predictor, parity checks and
benchmarks."""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np


def create_session(path: str,
                   providers: Optional[Sequence[str]] = None,
                   num_threads: Optional[int] = None):
    """An ``onnxruntime.InferenceSession`` with explicit providers.

    Args:
        path: ``.onnx`` file.
        providers: execution providers (default: CPU).
        num_threads: intra-op threads (default: onnxruntime's choice).

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ImportError: when onnxruntime is not installed.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'ONNX file not found: {path}')
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover - a test requirement
        raise ImportError('onnxruntime is needed to run exported models: '
                          'pip install onnxruntime') from err
    opts = ort.SessionOptions()
    if num_threads:
        opts.intra_op_num_threads = int(num_threads)
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(
        path,
        sess_options=opts,
        providers=list(providers or ['CPUExecutionProvider']))


_ORT_DTYPES = {
    'tensor(float)': 'float32',
    'tensor(int64)': 'int64',
    'tensor(int32)': 'int32',
    'tensor(bool)': 'bool'
}


class OrtGraph:
    """One exported graph on onnxruntime with checked inputs.

    Every call checks the feeds against the graph's own input signature
    (names, dtypes, ranks and fixed dimensions), so a wrong input fails
    with a message naming the part, the graph, the input and the expected
    shape instead of an onnxruntime error deep in a kernel.

    Args:
        path: the ``.onnx`` file.
        part: the deployable part it belongs to (for messages).
        providers, num_threads: see :func:`create_session`.
    """

    def __init__(self,
                 path: str,
                 part: str,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None) -> None:
        self.path = path
        self.part = part
        self.name = osp.splitext(osp.basename(path))[0]
        self.session = create_session(path, providers, num_threads)
        self.inputs = {
            i.name: (list(i.shape), _ORT_DTYPES.get(i.type, i.type))
            for i in self.session.get_inputs()
        }
        self.output_names = [o.name for o in self.session.get_outputs()]

    def input_shape(self, name: str) -> list:
        """Shape of input ``name`` (dynamic axes as strings)."""
        return self.inputs[name][0]

    def check(self, feeds: Dict[str, np.ndarray]) -> None:
        """Raise ``ValueError`` naming the part / graph / input on a missing,
        unexpected or mis-shaped input, ``TypeError`` on a wrong dtype."""
        where = f'{self.part} graph {self.name} ({self.path})'
        missing = [n for n in self.inputs if n not in feeds]
        extra = [n for n in feeds if n not in self.inputs]
        if missing or extra:
            raise ValueError(f'{where}: inputs {sorted(self.inputs)} '
                             f'expected, missing {missing}, unexpected '
                             f'{extra}')
        for name, (shape, dtype) in self.inputs.items():
            value = feeds[name]
            if not isinstance(value, np.ndarray):
                raise TypeError(f'{where}: input {name!r} must be a numpy '
                                f'array, got {type(value).__name__}')
            if str(value.dtype) != dtype:
                raise TypeError(f'{where}: input {name!r} must be {dtype}, '
                                f'got {value.dtype}')
            ok = value.ndim == len(shape) and all(
                not isinstance(s, int) or s == v
                for s, v in zip(shape, value.shape))
            if not ok:
                raise ValueError(f'{where}: input {name!r} must have shape '
                                 f'{shape}, got {list(value.shape)}')

    def __call__(self, **feeds: np.ndarray) -> Dict[str, np.ndarray]:
        """Run with checked feeds; outputs by name."""
        self.check(feeds)
        return dict(zip(self.output_names, self.session.run(None, feeds)))
