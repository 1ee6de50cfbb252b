# A tiny, randomly initialised SAM3 (detector + tracker) for tests, the quick
# start and CI: same architecture as SAM3, a few thousand times smaller.
# Input 224 px, patch 14 -> 16x16 trunk tokens of 32 channels.
trunk_channels = 32
trunk_grid = 16  # 224 / 14
# The tiny random teacher's trunk is ~90% a linear function of each 14-px
# patch (measured in docs/stage1_learning_curve.md); stride-8/16/32 student
# maps cannot follow that 14-px phase, so the tiny students add the
# alignment head's patch-embedding branch (Sam3AlignHead.patch_size).
align_patch_size = 14
sam3_cfg = dict(
    config=dict(
        vision_config=dict(
            backbone_config=dict(
                hidden_size=trunk_channels, intermediate_size=64,
                num_hidden_layers=2, num_attention_heads=2,
                image_size=224, patch_size=14, window_size=8,
                global_attn_indexes=[1], pretrain_image_size=224),
            fpn_hidden_size=32,
            backbone_feature_sizes=[[64, 64], [32, 32], [16, 16]]),
        text_config=dict(
            vocab_size=49408, hidden_size=32, intermediate_size=64,
            num_hidden_layers=1, num_attention_heads=2,
            max_position_embeddings=32, projection_dim=32),
        geometry_encoder_config=dict(
            hidden_size=32, num_layers=1, num_attention_heads=2,
            intermediate_size=64),
        detr_encoder_config=dict(
            hidden_size=32, num_layers=1, num_attention_heads=2,
            intermediate_size=64),
        detr_decoder_config=dict(
            hidden_size=32, num_layers=1, num_attention_heads=2,
            intermediate_size=64, num_queries=20),
        mask_decoder_config=dict(
            hidden_size=32, num_upsampling_stages=3, num_attention_heads=2),
        tracker_config=dict(
            mask_decoder_config=dict(
                num_attention_heads=2, mlp_dim=64, iou_head_hidden_dim=32)),
    ))
teacher_cfg = dict(type='Sam3Teacher', **sam3_cfg)
