#!/usr/bin/env bash
# The sim-to-real experiments on the glue-tube photos, one `dvc exp run` each (README.md beside
# this file says which params file to copy to params.yaml first, and what each group asks).
#
#   examples/glue_tubes_real/experiments.sh list              every experiment and the params file it needs
#   examples/glue_tubes_real/experiments.sh NAME              run experiment NAME (train.seed: the top-level seed)
#   examples/glue_tubes_real/experiments.sh NAME SEED         the same with train.seed=SEED, named NAME-sSEED
#   examples/glue_tubes_real/experiments.sh NAME SEED ARGS... more arguments for dvc exp run (e.g. --queue)
#
# Run it from the repository root. `dvc exp run` starts from the params of the last run applied to
# the workspace, so every experiment sets every key that any experiment of its group varies: the
# experiments of a group can run in any order.
set -euo pipefail

random_split='++mix.real.0.test_files=[]'                                  # test photos drawn from every desk
white_desk='++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]'  # the white desk: no train photo shows it
# the model: the example's small MobileNetV3 from scratch, as rounds 1-9 measured it, or the shipped
# pretrained recipe (Lite0 from ImageNet, its top 3 stages at lr x 0.1, anchors fitted to the tube);
# every experiment sets these keys, so any order of experiments runs each as listed
scratch=(model.backbone=mobilenet_v3_small_fpn ++train.backbone_lr=1.0 'model.anchor_sizes=[[16],[32],[64],[128]]' 'model.aspect_ratios=[0.5,1.0,2.0]')
lite0=(model.backbone=efficientnet_lite0_fpn ++train.backbone_lr=0.1 'model.anchor_sizes=[[16,23],[32,45],[64,91],[128,181]]' 'model.aspect_ratios=[0.25,0.5,1,2,4]')
# where the rig puts the keypoints: at the tube's two ends (the centre of the cap's end face, the crimp's
# edge), as rounds 1-9 measured, or where the photos' annotators click (halfway along the cap, halfway
# across the crimped band); the renders keep their bytes, only the annotations move
ends=(rigs.glue_tube.keypoints.0.vertex_group=head rigs.glue_tube.keypoints.1.vertex_group=tail)
clicks=(rigs.glue_tube.keypoints.0.vertex_group=cap_middle rigs.glue_tube.keypoints.1.vertex_group=crimp_middle)

# experiment NAME: sets `params` (the example's params file it needs) and `overrides` (its -S values)
experiment() {
  params=params.yaml
  case "$1" in
    # 1000 steps, test photos drawn at random from every desk: how many photos do the renders save?
    real-only)              overrides=(mix.train_sources=real      mix.real_train_images=null train.iterations=1000 train.eval_every=3 "$random_split" "${scratch[@]}" "${ends[@]}") ;;
    renders-only)           overrides=(mix.train_sources=synthetic mix.real_train_images=null train.iterations=1000 train.eval_every=3 "$random_split" "${scratch[@]}" "${ends[@]}") ;;
    renders+real)           overrides=(mix.train_sources=all       mix.real_train_images=null train.iterations=1000 train.eval_every=3 "$random_split" "${scratch[@]}" "${ends[@]}") ;;
    real10-only)            overrides=(mix.train_sources=real      mix.real_train_images=10   train.iterations=1000 train.eval_every=3 "$random_split" "${scratch[@]}" "${ends[@]}") ;;
    renders+real10)         overrides=(mix.train_sources=all       mix.real_train_images=10   train.iterations=1000 train.eval_every=3 "$random_split" "${scratch[@]}" "${ends[@]}") ;;
    real20-only)            overrides=(mix.train_sources=real      mix.real_train_images=20   train.iterations=1000 train.eval_every=3 "$random_split" "${scratch[@]}" "${ends[@]}") ;;
    renders+real20)         overrides=(mix.train_sources=all       mix.real_train_images=20   train.iterations=1000 train.eval_every=3 "$random_split" "${scratch[@]}" "${ends[@]}") ;;
    real3-only)             overrides=(mix.train_sources=real      mix.real_train_images=3    train.iterations=1000 train.eval_every=30 "$random_split" "${scratch[@]}" "${ends[@]}") ;;
    renders+real3)          overrides=(mix.train_sources=all       mix.real_train_images=3    train.iterations=1000 train.eval_every=3 "$random_split" "${scratch[@]}" "${ends[@]}") ;;
    # 1000 steps, the white desk as the test set: a scene that no training photo shows
    desk-real-only)         overrides=(mix.train_sources=real      mix.real_train_images=null train.iterations=1000 train.eval_every=3 "$white_desk" "${scratch[@]}" "${ends[@]}") ;;
    desk-renders+real)      overrides=(mix.train_sources=all       mix.real_train_images=null train.iterations=1000 train.eval_every=3 "$white_desk" "${scratch[@]}" "${ends[@]}") ;;
    desk-renders-only)      overrides=(mix.train_sources=synthetic mix.real_train_images=null train.iterations=1000 train.eval_every=3 "$white_desk" "${scratch[@]}" "${ends[@]}") ;;
    desk-real10-only)       overrides=(mix.train_sources=real      mix.real_train_images=10   train.iterations=1000 train.eval_every=15 "$white_desk" "${scratch[@]}" "${ends[@]}") ;;
    desk-renders+real10)    overrides=(mix.train_sources=all       mix.real_train_images=10   train.iterations=1000 train.eval_every=3 "$white_desk" "${scratch[@]}" "${ends[@]}") ;;
    # 4000 steps (about 35 min each on 2 cores), the white desk as the test set
    desk-real10-4k)         overrides=(mix.train_sources=real      mix.real_train_images=10   train.iterations=4000 train.eval_every=15 "$white_desk" "${scratch[@]}" "${ends[@]}") ;;
    desk-renders+real10-4k) overrides=(mix.train_sources=all       mix.real_train_images=10   train.iterations=4000 train.eval_every=3 "$white_desk" "${scratch[@]}" "${ends[@]}") ;;
    desk-real-4k)           overrides=(mix.train_sources=real      mix.real_train_images=null train.iterations=4000 train.eval_every=12 "$white_desk" "${scratch[@]}" "${ends[@]}") ;;
    desk-renders+real-4k)   overrides=(mix.train_sources=all       mix.real_train_images=null train.iterations=4000 train.eval_every=3 "$white_desk" "${scratch[@]}" "${ends[@]}") ;;
    desk-renders-only-4k)   overrides=(mix.train_sources=synthetic mix.real_train_images=null train.iterations=4000 train.eval_every=3 "$white_desk" "${scratch[@]}" "${ends[@]}") ;;
    # the same desk and budget with the pretrained recipe (docs/results/2026-12-05-pretrained-start.md)
    desk-lite0-renders-only-4k)   overrides=(mix.train_sources=synthetic mix.real_train_images=null train.iterations=4000 train.eval_every=3 "$white_desk" "${lite0[@]}" "${ends[@]}") ;;
    desk-lite0-clicks-renders-only-4k) overrides=(mix.train_sources=synthetic mix.real_train_images=null train.iterations=4000 train.eval_every=3 "$white_desk" "${lite0[@]}" "${clicks[@]}") ;;
    desk-lite0-clicks-renders+real10-4k) overrides=(mix.train_sources=all mix.real_train_images=10 train.iterations=4000 train.eval_every=3 "$white_desk" "${lite0[@]}" "${clicks[@]}") ;;
    desk-lite0-renders+real10-4k) overrides=(mix.train_sources=all       mix.real_train_images=10   train.iterations=4000 train.eval_every=3 "$white_desk" "${lite0[@]}" "${ends[@]}") ;;
    desk-lite0-real-4k)           overrides=(mix.train_sources=real      mix.real_train_images=null train.iterations=4000 train.eval_every=12 "$white_desk" "${lite0[@]}" "${ends[@]}") ;;
    # params_gpu.yaml on a CUDA GPU; `oversample` makes the photo-only epochs as long as the others
    gpu-real-only)          params=params_gpu.yaml; overrides=(mix.train_sources=real      mix.real_train_images=null ++mix.real.0.oversample=25) ;;
    gpu-renders-only)       params=params_gpu.yaml; overrides=(mix.train_sources=synthetic mix.real_train_images=null ++mix.real.0.oversample=1) ;;
    gpu-renders+real)       params=params_gpu.yaml; overrides=(mix.train_sources=all       mix.real_train_images=null ++mix.real.0.oversample=1) ;;
    gpu-real20-only)        params=params_gpu.yaml; overrides=(mix.train_sources=real      mix.real_train_images=20   ++mix.real.0.oversample=75) ;;
    gpu-renders+real20)     params=params_gpu.yaml; overrides=(mix.train_sources=all       mix.real_train_images=20   ++mix.real.0.oversample=1) ;;
    *) return 1 ;;
  esac
}

names() {
  sed -n 's/^    \([a-z0-9+-]*\))  *.*overrides=.*/\1/p' "${BASH_SOURCE[0]}"
}

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
  exit 0
fi
if [[ $1 == list ]]; then
  for name in $(names); do
    experiment "$name"
    printf '%-24s examples/glue_tubes_real/%s\n' "$name" "$params"
  done
  exit 0
fi

name=$1
shift
if ! experiment "$name"; then
  echo "error: no experiment named '$name'; expected one of: $(names | tr '\n' ' ')" >&2
  exit 2
fi
seed=null
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  seed=$1
  name="$name-s$seed"
  shift
fi
args=()
for o in "${overrides[@]}" "train.seed=$seed"; do
  args+=(-S "$o")
done
exec dvc exp run -n "$name" "${args[@]}" "$@"
