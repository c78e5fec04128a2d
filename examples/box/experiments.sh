#!/usr/bin/env bash
# The box with its symmetry declared against the same box without it (issue 19): the same 300
# renders (only the labels differ), the same budget, 3 training seeds each; scored on the held-out
# renders of mix's test split. Run from anywhere; everything goes under $OUT.
#
#   examples/box/experiments.sh                          # the experiment (see the timing below)
#   IMAGES=24 ITER=30 SEEDS=0 examples/box/experiments.sh   # a smoke run of every command
#
# Writes, per variant (sym, nosym) and seed: $OUT/<variant>/seed<N>/models/best.pt and
# $OUT/<variant>/seed<N>/metrics/ (eval.json, per_keypoint.json, contact sheets). The models
# trained without the symmetry are also scored on the held-out renders that carry it
# ($OUT/nosym/seed<N>/metrics_on_sym/): the same images, so their symmetry-aware AP and PCK
# compare with the other variant's. Last, the table (examples/runs_table.py).
#
# What to compare: PCK@0.1 as written (nosym: the labels as rendered, the 0-18 % of the first
# box run; sym: the canonical labels) and the symmetry-aware AP and PCK@0.1 of both variants.
# Timing on the shared 2-core VM (smoke run, see benchmarks/RESULTS.md "Articulated and
# symmetric rigs"): plan ~10 min of rendering per variant and ~10 min per 1600-step training.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-python}
OUT=${OUT:-runs/box_symmetry}
SEEDS=${SEEDS:-"0 1 2"}
IMAGES=${IMAGES:-300}
ITER=${ITER:-1600}
mkdir -p "$OUT"

# The params of both variants: the experiment's file, and the same without rigs.box.symmetry.
$PY - "$OUT" "$IMAGES" <<'EOF'
import sys
from pathlib import Path

import yaml

out, images = Path(sys.argv[1]), int(sys.argv[2])
params = yaml.safe_load(Path("examples/box/params_experiment.yaml").read_text())
params["render"]["num_images"] = images
(out / "params_sym.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
del params["rigs"]["box"]["symmetry"]
(out / "params_nosym.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
EOF

for v in sym nosym; do
  P="$OUT/params_$v.yaml"
  $PY -m pipeline.rendering.render_dataset --params "$P" --out "$OUT/$v/synthetic"
  $PY -m pipeline.augmenting.augment --params "$P" --input "$OUT/$v/synthetic" --out "$OUT/$v/augmented"
  $PY -m pipeline.mixing.mix --params "$P" --input "$OUT/$v/augmented" --out "$OUT/$v/mixed"
  for s in $SEEDS; do
    R="$OUT/$v/seed$s"
    $PY -m train.train --params "$P" --set train.seed="$s" --set train.iterations="$ITER" \
      --input "$OUT/$v/mixed" --out "$R/models" --live-dir "$R/dvclive"
    $PY -m train.evaluate --params "$P" --input "$OUT/$v/mixed" --model "$R/models/best.pt" --out "$R/metrics"
  done
done
for s in $SEEDS; do
  $PY -m train.evaluate --params "$OUT/params_sym.yaml" --input "$OUT/sym/mixed" \
    --model "$OUT/nosym/seed$s/models/best.pt" --out "$OUT/nosym/seed$s/metrics_on_sym"
done
$PY examples/runs_table.py "$OUT" --split test | tee "$OUT/table.md"
