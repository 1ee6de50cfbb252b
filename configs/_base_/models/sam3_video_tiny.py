# A tiny, randomly initialised SAM3 video tracker (Sam3TrackerVideoModel,
# dense memory bank) for tests, the quick start and CI.
# Input 224 px, patch 14 -> 16x16 trunk tokens of 32 channels (the same trunk
# as configs/_base_/models/sam3_tiny.py, so a tiny Stage 1 student trunk
# loads into the tiny Stage 2 student).
# The tracker's own width (fpn / memory attention) must be > 64: the memory
# encoder emits 64-channel memories (fixed kv_in_dim=64 in transformers) and
# object pointers are split into width / 64 tokens of 64 channels.
from mmengine.config import read_base

with read_base():
    # same trunk (trunk_channels, trunk_grid)
    from .sam3_tiny import *

image_size = 224
tracker_width = video_tracker_width  # 128
video_tracker_cfg = dict(
    config=dict(
        image_size=image_size,
        vision_config=dict(
            backbone_config=dict(
                hidden_size=trunk_channels,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                image_size=image_size,
                patch_size=14,
                window_size=8,
                global_attn_indexes=[1],
                pretrain_image_size=image_size),
            fpn_hidden_size=tracker_width),
        prompt_encoder_config=dict(hidden_size=tracker_width),
        mask_decoder_config=dict(
            hidden_size=tracker_width,
            mlp_dim=128,
            num_attention_heads=2,
            iou_head_hidden_dim=32),
        memory_attention_hidden_size=tracker_width,
        memory_attention_num_layers=2,
        memory_attention_feed_forward_hidden_size=128,
        memory_encoder_hidden_size=tracker_width,
        mask_downsampler_embed_dim=tracker_width,
        memory_fuser_embed_dim=tracker_width,
        memory_fuser_intermediate_dim=128,
    ))
video_teacher_cfg = dict(type='Sam3VideoTeacher', **video_tracker_cfg)
# Perceiver of the tiny students: 16 global + 8x8 window latents = 80 tokens
# per memory frame (the dense tiny bank stores 16x16 = 256). The tiny map
# is small: 2x2-token windows, not the real config's 4x4, which would
# leave 16 places (pooled, they track at mask IoU 0.45 to the dense
# teacher before training, 2x2 windows at 0.88; perceiver_memory.py)
tiny_memory_bank = dict(
    perceiver=dict(num_global_latents=16, grid_size=(8, 8)))
