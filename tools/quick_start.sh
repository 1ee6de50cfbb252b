#!/usr/bin/env bash
# Quick start: Progressive Hierarchical Distillation end to end on the bundled
# sample data, on CPU, in a few minutes, distilling from the proxy teacher
# (data/proxy_teacher: the tiny SAM3 fine-tuned on these same samples by
# tools/misc/train_proxy_teacher.py, so the teacher really segments them).
#   Stage 1 (encoder distillation, prompt-in-the-loop) -> prompt mIoU + teacher fidelity
#   Stage 2 (Perceiver memory, video)                  -> J&F on the bundled clip
#   Stage 3 (concept segmentation on the image pairs) -> cgF1 / IL_MCC / pmF1, COCO AP,
#                                                         video cgF1 over masklets
#   Teacher on the same data, then one summary table (WORK_DIR/summary.json).
# The teacher was fitted to these samples: the table is a proxy for
# distillation fidelity, not a benchmark.
# Usage: bash tools/quick_start.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-work_dirs/quick_start}
TEACHER=data/proxy_teacher
export PYTHONUNBUFFERED=1
# one intra-op thread: the tiny models gain nothing from more, and on a busy
# CPU two spinning threads slowed a Stage 3 step from 0.3 s to 17 s
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$WORK"
if [ ! -f "$TEACHER/detector/config.json" ]; then
    echo "proxy teacher missing: $TEACHER (make it with" \
        "python tools/misc/train_proxy_teacher.py $TEACHER)" >&2
    exit 1
fi

echo "==> Stage 1: train + evaluate (configs/proxy_teacher/stage1.py)"
python tools/train.py configs/proxy_teacher/stage1.py --work-dir "$WORK/stage1"
S1=$(ls -t "$WORK"/stage1/iter_*.pth | head -n 1)
python tools/test.py configs/proxy_teacher/stage1.py "$S1" --work-dir "$WORK/stage1_test"
echo "==> Stage 1 on the five SA-1B-format images the teacher was not fitted to"
python tools/test.py configs/proxy_teacher/stage1_heldout.py "$S1" --work-dir "$WORK/stage1_heldout"

echo "==> Stage 2: train + evaluate (configs/proxy_teacher/stage2.py), encoder from Stage 1"
python tools/train.py configs/proxy_teacher/stage2.py --work-dir "$WORK/stage2" \
    --cfg-options "model.student.trunk_checkpoint=$S1"
S2=$(ls -t "$WORK"/stage2/iter_*.pth | head -n 1)
python tools/test.py configs/proxy_teacher/stage2.py "$S2" --work-dir "$WORK/stage2_test"

echo "==> Stage 3: train + evaluate (configs/proxy_teacher/stage3.py), encoder and Perceiver tracker from Stage 2"
python tools/train.py configs/proxy_teacher/stage3.py --work-dir "$WORK/stage3" \
    --cfg-options "model.student.stage2_checkpoint=$S2"
S3=$(ls -t "$WORK"/stage3/iter_*.pth | head -n 1)
python tools/test.py configs/proxy_teacher/stage3.py "$S3" --work-dir "$WORK/stage3_test"
echo "==> Stage 3 on COCO format: every category name as a prompt, mmdet CocoMetric"
python tools/test.py configs/stage3/tiny_coco.py "$S3" --work-dir "$WORK/stage3_coco"
echo "==> Stage 3 on video: detect each phrase per frame, link into masklets with the tracker"
python tools/test.py configs/stage3/tiny_video.py "$S3" --work-dir "$WORK/stage3_video"

echo "==> Teacher on the same data (box mIoU, J&F, cgF1)"
python tools/misc/eval_teacher.py "$TEACHER" --work-dir "$WORK" > "$WORK/teacher_eval.log" 2>&1 \
    || { tail -n 30 "$WORK/teacher_eval.log" >&2; exit 1; }

echo "==> Summary"
python tools/misc/quick_start_summary.py "$WORK"
echo "==> Done. Checkpoints and logs under $WORK"
