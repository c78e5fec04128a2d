#!/usr/bin/env bash
# examples/experiment_data.sh EXAMPLE OUT IMAGES: the data of one example's renders-alone
# experiment. Writes OUT/params.yaml (examples/EXAMPLE/params_experiment.yaml with
# render.num_images = IMAGES), then renders, augments and mixes under OUT (synthetic/,
# augmented/, mixed/). The examples' experiments.sh call it; PY names the Python (default python).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
example=$1 OUT=$2 IMAGES=$3
$PY - "$example" "$OUT" "$IMAGES" <<'PARAMS'
import sys
from pathlib import Path

import yaml

example, out, images = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
params = yaml.safe_load(Path(f"examples/{example}/params_experiment.yaml").read_text())
params["render"]["num_images"] = images
(out / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
PARAMS

P="$OUT/params.yaml"
$PY -m pipeline.rendering.render_dataset --params "$P" --out "$OUT/synthetic"
$PY -m pipeline.augmenting.augment --params "$P" --input "$OUT/synthetic" --out "$OUT/augmented"
$PY -m pipeline.mixing.mix --params "$P" --input "$OUT/augmented" --out "$OUT/mixed"
