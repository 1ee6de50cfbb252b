# A tiny, randomly initialised SAM3 (detector + tracker) for tests, the quick
# start and CI: same architecture as SAM3, a few thousand times smaller.
# Input 224 px, patch 14 -> 16x16 trunk tokens of 32 channels.
# sam3.py with other values: the same neck descriptions, tiny sizes.
from mmengine.config import read_base

with read_base():
    from .sam3 import *

trunk_channels = 32
trunk_grid = 16  # 224 / 14
# The tiny random teacher's trunk is ~90% a linear function of each 14-px
# patch (measured in docs/stage1_learning_curve.md); stride-8/16/32 student
# maps cannot follow that 14-px phase, so the tiny students add the
# alignment head's patch-embedding branch (Sam3AlignHead.patch_size).
align_patch_size = 14
fpn_channels = 32  # width of the tiny detector / tracker FPN levels
# The tiny video tracker (sam3_video_tiny.py) is a separate random model
# whose neck is 128 wide (its memory modules need > 64): the tiny students'
# light neck makes its levels as a third branch ('video'). The real SAM3
# video tracker shares the tracker neck, so real configs need no such branch.
video_tracker_width = 128
# embed_dims 128, as the real configs: at 256 the tiny light neck, not the
# backbone, dominated a Stage 1 step (proxy quick start, feature-only
# steps: 0.44 s at 256, 0.29 s at 128 in the training log's `time`); its
# student scores box mIoU 47.6 at 128 against 49.9 at 256 (teacher 56.6)
student_neck.update(
    branches=('tracker', 'detector', 'video'),
    out_channels=dict(
        tracker=fpn_channels, detector=fpn_channels,
        video=video_tracker_width),
    out_size=(trunk_grid, trunk_grid),
    embed_dims=128,
    patch_size=align_patch_size)
# Stage 1 feature weights of the tiny light neck, per level (64/32/16 px):
# the random teacher's finer levels carry 1e-5 / 1e-2 of the variance of
# its grid level (its decoder barely reads them), so the grid level counts
# most (docs/light_neck.md: 100-iteration comparison).
feat_level_weights = dict(tracker=(0.1, 0.1, 1.0), detector=(0.1, 0.1, 1.0))
# Trunk mode, for comparison (configs/stage1/tiny_trunk.py)
trunk_neck.update(
    out_channels=trunk_channels,
    out_size=(trunk_grid, trunk_grid),
    patch_size=align_patch_size)
sam3_cfg = dict(
    config=dict(
        vision_config=dict(
            backbone_config=dict(
                hidden_size=trunk_channels,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                image_size=224,
                patch_size=14,
                window_size=8,
                global_attn_indexes=[1],
                pretrain_image_size=224),
            fpn_hidden_size=32,
            backbone_feature_sizes=[[64, 64], [32, 32], [16, 16]]),
        text_config=dict(
            vocab_size=49408,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=32,
            projection_dim=32),
        geometry_encoder_config=dict(
            hidden_size=32,
            num_layers=1,
            num_attention_heads=2,
            intermediate_size=64),
        detr_encoder_config=dict(
            hidden_size=32,
            num_layers=1,
            num_attention_heads=2,
            intermediate_size=64),
        detr_decoder_config=dict(
            hidden_size=32,
            num_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            # one query finds at most one instance: the proxy teacher's
            # coins.jpg pair (data/samples/saco) has 24 (SAM3: 200)
            num_queries=32),
        mask_decoder_config=dict(
            hidden_size=32, num_upsampling_stages=3, num_attention_heads=2),
        tracker_config=dict(
            mask_decoder_config=dict(
                num_attention_heads=2, mlp_dim=64, iou_head_hidden_dim=32)),
    ))
teacher_cfg = dict(type='Sam3Teacher', **sam3_cfg)
