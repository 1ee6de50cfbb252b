#!/usr/bin/env bash
# Quick start: Progressive Hierarchical Distillation end to end on the bundled
# sample data with a tiny random SAM3 teacher, on CPU, in a few minutes.
#   Stage 1 (encoder distillation, prompt-in-the-loop) -> prompt mIoU + teacher fidelity
#   Stage 2 (Perceiver memory, video)                  -> J&F on the bundled clip
#   Stage 3 (concept segmentation, images + clips)     -> cgF1 / IL_MCC / pmF1, COCO AP,
#                                                         video cgF1 over masklets
# Usage: bash tools/quick_start.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-work_dirs/quick_start}
export PYTHONUNBUFFERED=1
mkdir -p "$WORK"

echo "==> Stage 1: train + evaluate (configs/stage1/tiny.py)"
python tools/train.py configs/stage1/tiny.py --work-dir "$WORK/stage1"
S1=$(ls -t "$WORK"/stage1/iter_*.pth | head -n 1)
python tools/test.py configs/stage1/tiny.py "$S1" --work-dir "$WORK/stage1_test"

echo "==> Stage 2: train + evaluate (configs/stage2/tiny.py), encoder from Stage 1"
python tools/train.py configs/stage2/tiny.py --work-dir "$WORK/stage2" \
    --cfg-options "model.student.trunk_checkpoint=$S1"
S2=$(ls -t "$WORK"/stage2/iter_*.pth | head -n 1)
python tools/test.py configs/stage2/tiny.py "$S2" --work-dir "$WORK/stage2_test"

echo "==> Stage 3: train + evaluate (configs/stage3/tiny.py), encoder and Perceiver tracker from Stage 2"
python tools/train.py configs/stage3/tiny.py --work-dir "$WORK/stage3" \
    --cfg-options "model.student.stage2_checkpoint=$S2"
S3=$(ls -t "$WORK"/stage3/iter_*.pth | head -n 1)
python tools/test.py configs/stage3/tiny.py "$S3" --work-dir "$WORK/stage3_test"
echo "==> Stage 3 on COCO format: every category name as a prompt, mmdet CocoMetric"
python tools/test.py configs/stage3/tiny_coco.py "$S3" --work-dir "$WORK/stage3_coco"
echo "==> Stage 3 on video: detect each phrase per frame, link into masklets with the tracker"
python tools/test.py configs/stage3/tiny_video.py "$S3" --work-dir "$WORK/stage3_video"

echo "==> Done. Checkpoints and logs under $WORK"
