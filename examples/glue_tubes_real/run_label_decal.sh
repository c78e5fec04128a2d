#!/usr/bin/env bash
# Round 8 (docs/results/2026-12-01-round8-label-decal-and-clutter.md): round 7's held-out-desk
# comparison with the real label as a decal cut from a training photo and desk clutter as mesh
# distractors (params_label_decal.yaml says what differs). Renders alone and renders + 10 photos,
# 4000 steps, training seeds 0, 1, 2: six trainings of about 35 minutes each on 2 cores, after one
# render of 300 images. Then the control that separates the two changes: the decal without the
# clutter (today's 0-1 primitive distractors), renders alone, the same three seeds.
#
#   bash examples/glue_tubes_real/run_label_decal.sh [PHOTOS]    (from the repository root)
#
# PHOTOS: the real COCO folder (default ../shared/data/glue_tubes_real, as mix.real names it).
# The decal goes to data/decals/ (ignored by Git, made from the photos at run time); params.yaml is
# overwritten with the variant, as the example's header does. Compare with round 7:
# `dvc exp show --only-changed`; round 7's renders-only run is desk-renders-only-4k (0.148).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
PHOTOS="${1:-../shared/data/glue_tubes_real}"
TEST='++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]'   # the white desk

python examples/glue_tubes_real/make_label_decal.py --photos "$PHOTOS" --out data/decals/glue_label.png
cp examples/glue_tubes_real/params_label_decal.yaml params.yaml
for seed in 0 1 2; do
  dvc exp run -n "desk-decal-renders-only-4k-s$seed" -S mix.train_sources=synthetic -S mix.real_train_images=null \
    -S train.iterations=4000 -S train.eval_every=3 -S "train.seed=$seed" -S "$TEST"
done
for seed in 0 1 2; do
  dvc exp run -n "desk-decal-renders+real10-4k-s$seed" -S mix.train_sources=all -S mix.real_train_images=10 \
    -S train.iterations=4000 -S train.eval_every=3 -S "train.seed=$seed" -S "$TEST"
done
# control: the decal alone (no mesh clutter, 0-1 distractors as in params.yaml), renders alone
for seed in 0 1 2; do
  dvc exp run -n "desk-decal-noclutter-renders-only-4k-s$seed" -S mix.train_sources=synthetic \
    -S mix.real_train_images=null -S train.iterations=4000 -S train.eval_every=3 -S "train.seed=$seed" -S "$TEST" \
    -S 'render.distractors.count=[0,1]' -S '~render.distractors.meshes'
done
dvc exp show --only-changed
