# The EdgeTAM-style compressed memory of the video tracker, one description
# shared by Stage 2 (which trains it against the dense-memory teacher) and
# Stage 3 (which fine-tunes it with the concept heads on clips).
# K = 256 global + 16x16 window latents per memory frame (EdgeTAM).
memory_bank = dict(
    type='PerceiverMemoryBank',
    max_cond_frames=1,
    perceiver=dict(
        type='SpatialPerceiver', dim=64, num_global_latents=256,
        grid_size=(16, 16), depth=2, num_heads=1, ff_mult=4, dropout=0.1))
# Tracker modules that stay as in the teacher: the SAM3 neck and prompt
# encoder; the IoU head and the no-memory token get no gradient from
# mask-prompted clips. Trained: Perceiver bank, memory attention, memory
# encoder, mask decoder, object-pointer projection.
video_frozen_heads = ['vision_encoder', 'prompt_encoder',
                      'no_memory_embedding',
                      'mask_decoder.iou_prediction_head']
