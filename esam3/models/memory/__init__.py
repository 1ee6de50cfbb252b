# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Video memory: Spatial Perceiver, memory banks, memory attention."""
from .base_memory_bank import BaseMemoryBank
from .dense_memory_bank import DenseMemoryBank
from .memory_attention import MemoryAttention
from .memory_attention_layer import MemoryAttentionLayer
from .perceiver_ffn import PerceiverFFN
from .perceiver_layer import PerceiverLayer
from .perceiver_memory_bank import PerceiverMemoryBank
from .position_encoding import (sine_position_encoding_1d,
                                sine_position_encoding_2d)
from .rope_memory_attention import (Sam3RoPEMemoryAttention,
                                    edgetam_memory_attention_config,
                                    sam3_to_edgetam_state_dict)
from .sdp_attention import SDPAttention
from .spatial_perceiver import SpatialPerceiver
from .window_partition import window_bounds, window_partition

__all__ = [
    'BaseMemoryBank', 'DenseMemoryBank', 'MemoryAttention',
    'MemoryAttentionLayer', 'PerceiverFFN', 'PerceiverLayer',
    'PerceiverMemoryBank', 'SDPAttention', 'SpatialPerceiver',
    'Sam3RoPEMemoryAttention', 'edgetam_memory_attention_config',
    'sam3_to_edgetam_state_dict', 'sine_position_encoding_1d',
    'sine_position_encoding_2d', 'window_bounds', 'window_partition'
]
