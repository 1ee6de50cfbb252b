# The EdgeTAM-style compressed memory of the video tracker, one description
# shared by Stage 2 (which trains it against the dense-memory teacher) and
# Stage 3 (which fine-tunes it with the concept heads on clips).
# K = 128 global + 18x18 window latents = 452 per memory frame: 4x4-token
# windows on SAM3's 72x72 memory map, EdgeTAM's window size (its 16x16 grid
# would give uneven 4/5-token windows here). Memory attention: transformers'
# EdgeTAM RoPE module with SAM3's weights, 2 layers (SAM3's first 2 of 4;
# EdgeTAM's depth). Why (docs/memory_benchmark.md, measured with
# tools/analysis_tools/memory_attention_flops.py): the per-frame cost is
# dominated by the 5184 queries' self-attention + MLP, so K from 128 to 512
# changes it by only 30 % while 4 -> 2 layers halves it; the keys K are kept
# large (fidelity), the layers are cut (cost).
# pool_residual (not in EdgeTAM): the Perceiver starts as window average
# pooling and learns corrections (SpatialPerceiver), so the memory that the
# copied SAM3 memory attention reads is usable from the first iteration.
# Before any training, on the tiny proxy teacher's own features, mask IoU to
# the dense-memory teacher: a fresh EdgeTAM Perceiver 0.27 (4x4-token
# windows) / 0.04 (2x2), the pooling start 0.45 / 0.88
# (tools/analysis_tools/memory_start_check.py configs/proxy_teacher/stage2.py
#  --grids 4 8).
memory_bank = dict(
    type='PerceiverMemoryBank',
    max_cond_frames=1,
    perceiver=dict(
        type='SpatialPerceiver',
        dim=64,
        num_global_latents=128,
        grid_size=(18, 18),
        depth=2,
        num_heads=1,
        ff_mult=4,
        dropout=0.1,
        pool_residual=True))
memory_attention = dict(num_layers=2)
# Tracker modules that stay as in the teacher: the SAM3 neck and prompt
# encoder; the IoU head and the no-memory token get no gradient from
# mask-prompted clips. Trained: Perceiver bank, memory attention, memory
# encoder, mask decoder, object-pointer projection.
video_frozen_heads = [
    'vision_encoder', 'prompt_encoder', 'no_memory_embedding',
    'mask_decoder.iou_prediction_head'
]
