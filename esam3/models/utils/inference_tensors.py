# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Keep tensors made under ``torch.inference_mode`` out of autograd graphs."""
from torch import Tensor


def as_autograd_tensor(tensor: Tensor) -> Tensor:
    """A normal tensor with the values of ``tensor``.

    transformers caches sine position encodings in a process-wide LRU cache
    (``build_sine_position_embedding``) and runs its video models under
    ``torch.inference_mode``; once a teacher filled the cache, the student's
    tracker receives the same *inference* tensor. Autograd may read it, but
    gradient checkpointing must save its inputs for backward, which inference
    tensors forbid ("Inference tensors cannot be saved for backward"). A
    clone made outside inference mode is an ordinary tensor; other tensors are
    returned as they are (no copy).

    Args:
        tensor (Tensor): Any tensor.

    Returns:
        Tensor: ``tensor`` itself, or a clone of it if it is an inference
        tensor.
    """
    return tensor.clone() if tensor.is_inference() else tensor
