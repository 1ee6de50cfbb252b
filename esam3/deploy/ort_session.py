# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Onnxruntime session creation shared by the predictor, parity checks and
benchmarks."""
import os.path as osp
from typing import Optional, Sequence


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
