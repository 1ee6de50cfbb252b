#!/usr/bin/env bash
# Rebuild data/proxy_teacher from scratch: the chain of
# tools/misc/train_proxy_teacher.py runs that made the shipped weights
# (every step seeded, one thread: the same software stack gives the same
# weights). About 50 minutes on a 2-core CPU; the quick start does not need it.
# Usage: bash tools/misc/make_proxy_teacher.sh [OUT] [SCRATCH]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-data/proxy_teacher}
TMP=${2:-$(mktemp -d)}
export OMP_NUM_THREADS=1
run() { python tools/misc/train_proxy_teacher.py "$@"; }
# 1. the tiny SAM3 from its random initialisation, all three tasks (20 DETR
# queries: the count of the tiny architecture when these steps were run)
run "$TMP/p1" --num-queries 20
# 2. concept prompts twice as often
run "$TMP/p2" --init "$TMP/p1" --iters 1000 --lr 2e-3 --seed 1 \
    --schedule concept,prompt,concept,prompt,track
# 3.-4. geometric prompts and tracking catch up
run "$TMP/p3" --init "$TMP/p2" --iters 1200 --lr 1e-3 --seed 3 \
    --schedule prompt,concept,prompt,track,prompt,concept
run "$TMP/p4" --init "$TMP/p3" --iters 1500 --lr 2e-3 --seed 5 \
    --schedule prompt,concept,prompt,concept,track
# 5.-6. concept scores: BCE on the query scores (see cls_loss_cfg)
run "$TMP/p5" --init "$TMP/p4" --iters 1500 --lr 1e-3 --seed 6 \
    --cls-loss bce --schedule concept,prompt,concept,track,concept,prompt
run "$TMP/p6" --init "$TMP/p5" --iters 1500 --lr 1e-3 --seed 8 \
    --cls-loss bce --schedule concept,prompt,concept,track,concept,prompt
run "$TMP/p7" --init "$TMP/p6" --iters 1500 --lr 1e-3 --seed 9 \
    --cls-loss bce --schedule concept,concept,prompt,concept,track
# 8.-9. the concept heads alone (trunk, tracker and video tracker frozen,
# so geometric prompts and tracking keep their numbers): concept masks
run "$TMP/p8" --init "$TMP/p7" --iters 1500 --lr 1e-3 --seed 10 \
    --cls-loss bce --schedule concept --frozen trunk heads.tracker video
run "$TMP/p9" --init "$TMP/p8" --iters 4000 --lr 1e-3 --seed 11 \
    --cls-loss bce --schedule concept --frozen trunk heads.tracker video
# 10.-12. 32 DETR queries (one query finds one instance; coins.jpg has 24):
# the 20 trained ones kept, 12 new. The concept heads alone; the detector's
# FPN neck frozen too, so the light-neck student's Stage 1 target (and every
# Stage 1/2 number) stays what steps 1-9 made it
FROZEN="trunk heads.tracker video heads.detector.vision_encoder"
run "$TMP/p10" --init "$TMP/p9" --num-queries 32 --iters 4000 --lr 1e-3 \
    --seed 12 --cls-loss bce --schedule concept --frozen $FROZEN
# 11.-12. pairs drawn in proportion to 1 + their instances, so the coins get
# seen (see instance_weights)
run "$TMP/p11" --init "$TMP/p10" --concept-sampling instances --iters 4000 \
    --lr 1e-3 --seed 12 --cls-loss bce --schedule concept --frozen $FROZEN
run "$OUT" --init "$TMP/p11" --concept-sampling instances --iters 6000 \
    --lr 1e-3 --seed 14 --cls-loss bce --schedule concept --frozen $FROZEN
