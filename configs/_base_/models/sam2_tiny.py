# A tiny, randomly initialised SAM2 (Hiera + FPN + SAM2 heads) for tests:
# input 128 px, Hiera strides 4..32, image embeddings at 32/16/8 px with
# 32 channels. About 0.35M parameters (SAM2.1-tiny: 39M).
sam2_image_size = 128
sam2_embed_dim = 32
sam2_cfg = dict(
    config=dict(
        vision_config=dict(
            backbone_config=dict(
                model_type='sam2_hiera_det_model',
                hidden_size=16,
                num_attention_heads=1,
                image_size=[sam2_image_size, sam2_image_size],
                blocks_per_stage=[1, 1, 2, 1],
                embed_dim_per_stage=[16, 32, 64, 128],
                num_attention_heads_per_stage=[1, 1, 2, 2],
                window_size_per_stage=[4, 4, 4, 2],
                global_attention_blocks=[3],
                window_positional_embedding_background_size=[4, 4]),
            backbone_channel_list=[128, 64, 32, 16],
            backbone_feature_sizes=[[32, 32], [16, 16], [8, 8]],
            fpn_hidden_size=sam2_embed_dim),
        prompt_encoder_config=dict(
            hidden_size=sam2_embed_dim,
            image_size=sam2_image_size,
            patch_size=16,
            mask_input_channels=4),
        mask_decoder_config=dict(
            hidden_size=sam2_embed_dim,
            mlp_dim=64,
            num_attention_heads=2,
            iou_head_hidden_dim=32)))
# Memory sizes for the optional Sam2VideoModel (Sam2Teacher(with_video=True)).
sam2_video_cfg = dict(
    image_size=sam2_image_size,
    memory_attention_hidden_size=sam2_embed_dim,
    memory_attention_num_layers=1,
    memory_attention_num_attention_heads=1,
    memory_attention_feed_forward_hidden_size=64,
    memory_attention_rope_feat_sizes=[8, 8],
    memory_encoder_hidden_size=sam2_embed_dim,
    memory_encoder_output_channels=16,
    mask_downsampler_embed_dim=sam2_embed_dim,
    memory_fuser_embed_dim=sam2_embed_dim,
    memory_fuser_intermediate_dim=64)
sam2_teacher_cfg = dict(type='Sam2Teacher', **sam2_cfg)
