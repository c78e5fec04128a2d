#!/usr/bin/env bash
# The pretrained-start comparison of issue 23 (docs/results/2026-12-05-pretrained-start.md): each
# arm trains on the same data with train seeds 0, 1 and 2, then is scored on the held-out renders
# (test) and, when given, on a real COCO export that no training image shows.
#
#   examples/pretrained/compare.sh list                     the arms and their --set keys
#   examples/pretrained/compare.sh ARM [SEED...]             train + evaluate ARM (default seeds 0 1 2)
#
# Environment: DATA (default data/mixed, what `make all` mixed), OUT (default runs/pretrained),
# REAL (a COCO export folder with annotations.json to score on too; leave unset for renders only).
# Run it from the repository root after `make all` (or dvc repro mix); then
# `python examples/runs_table.py $OUT --split test` (or --split real) tables every arm and its seeds.
# Each run takes 10-20 minutes on a 2-core CPU; two at a time fill 2 cores.
set -euo pipefail
DATA=${DATA:-data/mixed}
OUT=${OUT:-runs/pretrained}
LITE0=(--set model.backbone=efficientnet_lite0_fpn)
WIDE=(--set model.fpn_channels=64 --set model.box_head_dim=256 --set 'model.keypoint_head=[64,64,64,64]')
# The arms measured before the fitted anchors became the default (2026-12-06) pin the anchors they
# were measured with (torchvision's layout, 1 size x 3 shapes per level), so they rerun as measured.
TV_ANCHORS=(--set 'model.anchor_sizes=[[16],[32],[64],[128]]' --set 'model.aspect_ratios=[0.5,1,2]')
# Every arm measured before the 300-step warm-up became the default (2026-12-07) pins the 50 steps
# it was measured with.
WARM50=(--set train.warmup_iters=50)
# the fitted anchors (the default since): 2 sizes x 5 shapes per level
FIT_ANCHORS=(--set 'model.anchor_sizes=[[16,23],[32,45],[64,91],[128,181]]' --set 'model.aspect_ratios=[0.25,0.5,1,2,4]')

arm() {
  case "$1" in
    scratch-mnv3s)      sets=(--set model.backbone=mobilenet_v3_small_fpn "${TV_ANCHORS[@]}" "${WARM50[@]}") ;;  # the default before issue 23, from scratch
    lite0-t3-blr0.1)    sets=("${LITE0[@]}" --set model.trainable_backbone_layers=3 --set train.backbone_lr=0.1 "${TV_ANCHORS[@]}" "${WARM50[@]}") ;;
    lite0-t3-blr0.1-ema) sets=("${LITE0[@]}" --set model.trainable_backbone_layers=3 --set train.backbone_lr=0.1 --set train.ema=true --set train.ema_decay=0.998 "${TV_ANCHORS[@]}" "${WARM50[@]}") ;;
    lite0-t3-blr0.3)    sets=("${LITE0[@]}" --set model.trainable_backbone_layers=3 --set train.backbone_lr=0.3 "${TV_ANCHORS[@]}" "${WARM50[@]}") ;;
    lite0-frozen-wide)  sets=("${LITE0[@]}" --set model.trainable_backbone_layers=0 "${WIDE[@]}" "${TV_ANCHORS[@]}" "${WARM50[@]}") ;;
    lite0-t3-blr0.1-4k) sets=("${LITE0[@]}" --set model.trainable_backbone_layers=3 --set train.backbone_lr=0.1 --set train.iterations=4000 "${TV_ANCHORS[@]}" "${WARM50[@]}") ;;  # the default at 4000 steps
    lite0-t3-blr0.1-roi256) sets=("${LITE0[@]}" --set model.trainable_backbone_layers=3 --set train.backbone_lr=0.1 --set model.box_batch_size_per_image=256 "${TV_ANCHORS[@]}" "${WARM50[@]}") ;;  # 4x the RoIs per image for the box loss
    lite0-t3-blr0.1-anch10) sets=("${LITE0[@]}" --set model.trainable_backbone_layers=3 --set train.backbone_lr=0.1 "${FIT_ANCHORS[@]}" "${WARM50[@]}") ;;  # 2 sizes x 5 shapes per level: an anchor at IoU >= 0.7 for 99 % of the train boxes (37 % before)
    lite0-t3-blr0.1-anch10-roi256) sets=("${LITE0[@]}" --set model.trainable_backbone_layers=3 --set train.backbone_lr=0.1 "${FIT_ANCHORS[@]}" --set model.box_batch_size_per_image=256 "${WARM50[@]}") ;;  # the fitted anchors with 4x the RoIs per image
    lite0-t3-blr0.1-anch10-warm300) sets=("${LITE0[@]}" --set model.trainable_backbone_layers=3 --set train.backbone_lr=0.1 "${FIT_ANCHORS[@]}" --set train.warmup_iters=300) ;;  # the fitted anchors with a 300-step warm-up (50 before)
    default-4k)         sets=(--set train.iterations=4000) ;;  # params.yaml's recipe (Lite0, fitted anchors, 300-step warm-up) at 4000 steps
    lite0-frozen)       sets=("${LITE0[@]}" --set model.trainable_backbone_layers=0 "${TV_ANCHORS[@]}" "${WARM50[@]}") ;;
    lite1-t3-blr0.1)    sets=(--set model.backbone=efficientnet_lite1_fpn --set model.trainable_backbone_layers=3 --set train.backbone_lr=0.1 "${TV_ANCHORS[@]}" "${WARM50[@]}") ;;
    lite2-t3-blr0.1)    sets=(--set model.backbone=efficientnet_lite2_fpn --set model.trainable_backbone_layers=3 --set train.backbone_lr=0.1 "${TV_ANCHORS[@]}" "${WARM50[@]}") ;;
    *) echo "unknown arm $1 (examples/pretrained/compare.sh list)" >&2; exit 2 ;;
  esac
}

if [[ ${1:-list} == list ]]; then
  for a in default-4k scratch-mnv3s lite0-t3-blr0.1 lite0-t3-blr0.1-4k lite0-t3-blr0.1-roi256 lite0-t3-blr0.1-anch10 lite0-t3-blr0.1-anch10-roi256 lite0-t3-blr0.1-anch10-warm300 lite0-t3-blr0.1-ema lite0-t3-blr0.3 lite0-frozen-wide lite0-frozen lite1-t3-blr0.1 lite2-t3-blr0.1; do arm "$a"; echo "$a: ${sets[*]:-(params.yaml as it is)}"; done
  exit 0
fi

name=$1; shift
arm "$name"
eval_data=$DATA
splits='[test]'
if [[ -n ${REAL:-} ]]; then
  # DATA's test split beside the export's photos, in a folder of their own (DATA is DVC's: left as it is);
  # every image is a link to its file, so no file name leaves the folder
  eval_data=$OUT/eval_data
  python - "$DATA" "$REAL" "$eval_data" <<'PY'
import json, os, sys
data, real, out = sys.argv[1:]
test = json.load(open(os.path.join(data, "test.json")))
gt = json.load(open(os.path.join(real, "annotations.json")))
for split, root, prefix in ((test, data, ""), (gt, real, "real/")):
    for im in split["images"]:
        name = im["file_name"]
        if prefix:
            name = prefix + os.path.basename(im["file_name"])
            im["source"] = "real"
        link = os.path.join(out, name)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(os.path.join(root, im["file_name"])), link)
        im["file_name"] = name
gt["categories"] = test["categories"]
for name, split in (("test", test), ("real", gt)):
    json.dump(split, open(os.path.join(out, name + ".json"), "w"))
PY
  splits='[test,real]'
fi
seeds=("$@")
[[ ${#seeds[@]} -gt 0 ]] || seeds=(0 1 2)
for seed in "${seeds[@]}"; do
  run="$OUT/$name/seed$seed"
  mkdir -p "$run"
  rig2kp train --input "$DATA" --out "$run/models" --live-dir "$run/live" --set "train.seed=$seed" "${sets[@]}"
  rig2kp evaluate --input "$eval_data" --model "$run/models/best.pt" --out "$run/metrics" --set "evaluate.splits=$splits"
done
