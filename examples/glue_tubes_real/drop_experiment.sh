#!/usr/bin/env bash
# Physics placement on the glue-tube photos (issue 18): renders whose tubes were dropped onto the
# desk (resting on it, some touching, with their shadows) against today's placement (tubes floating
# up to 4 cm above it), renders alone and renders + 10 photos, on the white desk that no training
# photo shows; 3 training seeds each, 4000 steps, as the desk-*-4k runs in params.yaml.
#
# Run from the root of a clone beside ../shared whose params.yaml is this example's:
#   cp examples/glue_tubes_real/params.yaml params.yaml && git add params.yaml && git commit -m s2r
#   bash examples/glue_tubes_real/drop_experiment.sh
# Each run takes about 35 minutes on the 2-core VM (two at a time at most). `dvc exp run` starts
# from the params of the previous run, so every command names every key the experiment varies.
# Then: dvc exp show --only-changed
#
# What differs (render only; mix, train and evaluate are the desk-*-4k runs'):
#   drop:    ++render.placement.mode=drop ++render.placement.drop.piles=[1,2] ++render.background.shadows=true
#            (tubes and the distractor drop in piles of 1-2 objects: some land on or against another)
#   today's: ++render.placement.mode=disc ++render.background.shadows=false
#   shadow control: today's placement with shadows and the tubes lowered onto the floor
#            (++render.placement.height=[0,0]), to tell what drop adds beyond the shadows.
set -euo pipefail

# drop: renders alone, and renders + 10 photos
dvc exp run -n desk-drop-renders-only-4k-s0 -S mix.train_sources=synthetic -S mix.real_train_images=null -S train.iterations=4000 -S train.eval_every=3 -S train.seed=0 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=drop' -S '++render.placement.drop.piles=[1,2]' -S '++render.background.shadows=true' -S '++render.placement.height=[-0.02,0.04]'
dvc exp run -n desk-drop-renders-only-4k-s1 -S mix.train_sources=synthetic -S mix.real_train_images=null -S train.iterations=4000 -S train.eval_every=3 -S train.seed=1 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=drop' -S '++render.placement.drop.piles=[1,2]' -S '++render.background.shadows=true' -S '++render.placement.height=[-0.02,0.04]'
dvc exp run -n desk-drop-renders-only-4k-s2 -S mix.train_sources=synthetic -S mix.real_train_images=null -S train.iterations=4000 -S train.eval_every=3 -S train.seed=2 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=drop' -S '++render.placement.drop.piles=[1,2]' -S '++render.background.shadows=true' -S '++render.placement.height=[-0.02,0.04]'
dvc exp run -n desk-drop-renders+real10-4k-s0 -S mix.train_sources=all -S mix.real_train_images=10 -S train.iterations=4000 -S train.eval_every=3 -S train.seed=0 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=drop' -S '++render.placement.drop.piles=[1,2]' -S '++render.background.shadows=true' -S '++render.placement.height=[-0.02,0.04]'
dvc exp run -n desk-drop-renders+real10-4k-s1 -S mix.train_sources=all -S mix.real_train_images=10 -S train.iterations=4000 -S train.eval_every=3 -S train.seed=1 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=drop' -S '++render.placement.drop.piles=[1,2]' -S '++render.background.shadows=true' -S '++render.placement.height=[-0.02,0.04]'
dvc exp run -n desk-drop-renders+real10-4k-s2 -S mix.train_sources=all -S mix.real_train_images=10 -S train.iterations=4000 -S train.eval_every=3 -S train.seed=2 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=drop' -S '++render.placement.drop.piles=[1,2]' -S '++render.background.shadows=true' -S '++render.placement.height=[-0.02,0.04]'

# today's placement, the same 3 seeds (round 7 ran desk-renders-only-4k with seed 0 and
# desk-renders+real10-4k with seeds 0-3 under the same settings: skip those to save time)
dvc exp run -n desk-renders-only-4k-s1 -S mix.train_sources=synthetic -S mix.real_train_images=null -S train.iterations=4000 -S train.eval_every=3 -S train.seed=1 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=disc' -S '++render.placement.drop.piles=false' -S '++render.background.shadows=false' -S '++render.placement.height=[-0.02,0.04]'
dvc exp run -n desk-renders-only-4k-s2 -S mix.train_sources=synthetic -S mix.real_train_images=null -S train.iterations=4000 -S train.eval_every=3 -S train.seed=2 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=disc' -S '++render.placement.drop.piles=false' -S '++render.background.shadows=false' -S '++render.placement.height=[-0.02,0.04]'

# shadow control: today's placement, tubes on the floor, with shadows (renders alone ran with 3 seeds)
dvc exp run -n desk-shadow-renders-only-4k-s0 -S mix.train_sources=synthetic -S mix.real_train_images=null -S train.iterations=4000 -S train.eval_every=3 -S train.seed=0 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=disc' -S '++render.placement.drop.piles=false' -S '++render.background.shadows=true' -S '++render.placement.height=[0,0]'
dvc exp run -n desk-shadow-renders-only-4k-s1 -S mix.train_sources=synthetic -S mix.real_train_images=null -S train.iterations=4000 -S train.eval_every=3 -S train.seed=1 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=disc' -S '++render.placement.drop.piles=false' -S '++render.background.shadows=true' -S '++render.placement.height=[0,0]'
dvc exp run -n desk-shadow-renders-only-4k-s2 -S mix.train_sources=synthetic -S mix.real_train_images=null -S train.iterations=4000 -S train.eval_every=3 -S train.seed=2 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=disc' -S '++render.placement.drop.piles=false' -S '++render.background.shadows=true' -S '++render.placement.height=[0,0]'
dvc exp run -n desk-shadow-renders+real10-4k-s0 -S mix.train_sources=all -S mix.real_train_images=10 -S train.iterations=4000 -S train.eval_every=3 -S train.seed=0 -S '++mix.real.0.test_files=["IMG_488[4-9]_*","IMG_489*","IMG_49*"]' -S '++render.placement.mode=disc' -S '++render.placement.drop.piles=false' -S '++render.background.shadows=true' -S '++render.placement.height=[0,0]'
