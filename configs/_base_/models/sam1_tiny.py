# A tiny, randomly initialised SAM (v1) for tests: ViT with 2 blocks of 32
# channels at 128 px (patch 16 -> 8x8 tokens), image embedding [32, 8, 8].
# About 0.1M parameters (SAM ViT-B: 94M).
sam1_image_size = 128
sam1_embed_dim = 32
sam1_cfg = dict(
    config=dict(
        vision_config=dict(
            hidden_size=32,
            output_channels=sam1_embed_dim,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=sam1_image_size,
            patch_size=16,
            window_size=4,
            global_attn_indexes=[1],
            mlp_dim=64,
            num_pos_feats=16),
        prompt_encoder_config=dict(
            hidden_size=sam1_embed_dim,
            image_size=sam1_image_size,
            patch_size=16,
            mask_input_channels=4),
        mask_decoder_config=dict(
            hidden_size=sam1_embed_dim,
            mlp_dim=64,
            num_attention_heads=2,
            iou_head_hidden_dim=32)))
sam1_teacher_cfg = dict(type='SamTeacher', **sam1_cfg)
