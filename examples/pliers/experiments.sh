#!/usr/bin/env bash
# The articulated example trained on renders (issue 19): the pliers, 300 renders that open and
# close them, 3 training seeds at the CPU-scale budget of the shipped params.yaml; keypoint AP
# (plain: the canonical labels of its declared symmetry; and symmetry-aware) on the held-out
# renders of mix's test split. Run from anywhere; everything goes under $OUT.
#
#   examples/pliers/experiments.sh                          # the experiment (see the timing below)
#   IMAGES=24 ITER=30 SEEDS=0 examples/pliers/experiments.sh   # a smoke run of every command
#
# Compare with the glue tube at CPU scale (keypoint AP on held-out renders ~0.3-0.5).
# Timing on the shared 2-core VM (smoke run, see benchmarks/RESULTS.md "Articulated and
# symmetric rigs"): plan ~10 min of rendering and ~10 min per 1600-step training.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-python}
OUT=${OUT:-runs/pliers}
SEEDS=${SEEDS:-"0 1 2"}
IMAGES=${IMAGES:-300}
ITER=${ITER:-1600}
mkdir -p "$OUT"

$PY examples/pliers/make_pliers.py --out "$OUT/build/pliers.blend"   # the params name build/pliers.blend
PY="$PY" examples/experiment_data.sh pliers "$OUT" "$IMAGES"   # $OUT/params.yaml, synthetic/, augmented/, mixed/
P="$OUT/params.yaml"
for s in $SEEDS; do
  R="$OUT/runs/seed$s"
  $PY -m train.train --params "$P" --set train.seed="$s" --set train.iterations="$ITER" \
    --input "$OUT/mixed" --out "$R/models" --live-dir "$R/dvclive"
  $PY -m train.evaluate --params "$P" --input "$OUT/mixed" --model "$R/models/best.pt" --out "$R/metrics"
done
$PY examples/runs_table.py "$OUT/runs" --split test | tee "$OUT/table.md"
