"""train/reporting/verdict.py: the thresholds on the runs they were set from, the reasons and the advice."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from train.dataset import load_split
from train.reporting.verdict import (
    LEARNED_AP,
    NOT_LEARNED_AP,
    NOT_LEARNED_PCK,
    SEED_RANGE,
    Training,
    Verdict,
    judge,
    object_size_px,
    seed_note,
)

RENDERS = "held-out renders (test, synthetic images)"
# the shipped CPU budget: 1600 steps of 4 images from scratch, evaluated with best.pt of the last validation
CPU_RUN = Training(keypoints=8, steps=1600, batch_size=4, epoch=16, epochs=16, eval_every=4,
                   pretrained=False, symmetric=False, min_size=192)  # fmt: skip


def _row(ap, pck, px=60.0):
    return {"AP": ap, "AP50": ap, "box_AP": 0.1, "px": px, "pck": pck}


@pytest.mark.parametrize(
    ("what", "ap", "pck", "level"),
    [
        # measured (docs/guide/train.md): the box rig (K = 8) at 1600 steps, 3 seeds, without and with symmetry
        ("box, no symmetry", 0.0, 0.11, "not learned"),
        ("box, symmetry", 0.0000017, 0.17, "not learned"),
        ("scanned 11-keypoint object", 0.0002, 0.3, "not learned"),
        # the glue tube (K = 2), 1600 steps (docs/results/2026-12-05-pretrained-start.md): an early
        # far-camera default, the former scratch default's seeds, the pretrained default's seeds
        ("tube, far camera from scratch (make all of an early default)", 0.026, 0.55, "weak"),
        ("tube, scratch default seed 0", 0.062, 0.51, "weak"),
        ("tube, scratch default seed 2", 0.107, 0.54, "learned"),
        ("tube, pretrained default seed 0", 0.088, 0.62, "weak"),
        ("tube, pretrained default seed 1", 0.290, 0.66, "learned"),
        ("keypoints near, AP fine, PCK low", 0.2, 0.1, "not learned"),
    ],
)
def test_levels_of_measured_runs(what, ap, pck, level):
    assert judge(_row(ap, pck), RENDERS, CPU_RUN, 40.0, on_cpu=True).level == level, what


def test_thresholds_are_the_documented_ones():
    assert (NOT_LEARNED_AP, LEARNED_AP, NOT_LEARNED_PCK) == (0.02, 0.1, 0.2)
    edge = judge(_row(LEARNED_AP, NOT_LEARNED_PCK), RENDERS, CPU_RUN, 40.0, on_cpu=True)
    assert edge.level == "learned"  # at the thresholds: not below them


def test_not_learned_names_the_numbers_and_what_to_change():
    v = judge(_row(0.0, 0.11), RENDERS, CPU_RUN, 20.0, on_cpu=True)
    assert v.reasons == [
        "keypoint AP 0.0000 < 0.02",
        "PCK@0.1 0.11 < 0.2 (keypoints mostly off by > 10 % of the box)",
    ]
    text = "\n".join(v.advice)
    for key in ("train.iterations", "1600 steps of 4 images for K = 8", "model.weights", "runtime.device cuda",
                "20 px in the model's 192 px input", "render.camera.distance", "docs/guide/symmetry.md"):  # fmt: skip
        assert key in text, key
    lines = v.lines()
    assert lines[0] == f"verdict: NOT LEARNED on {RENDERS}: " + "; ".join(v.reasons)
    assert lines[1].startswith("what to change (docs/guide/train.md#when-a-run-has-not-learned)")
    assert Verdict.from_json(json.loads(json.dumps(v.to_json()))) == v


def test_every_verdict_says_what_one_seed_cannot_show():
    """A user comparing two runs reads, under every verdict, how far train seeds alone move AP."""
    for ap, pck in ((0.0, 0.1), (0.5, 0.9)):
        v = judge(_row(ap, pck), RENDERS, CPU_RUN, 40.0, on_cpu=True)
        assert v.lines()[-1] == seed_note() == v.to_json()["seed_note"]
    for what, (lo, hi) in SEED_RANGE.items():
        assert 0 < lo < hi < 1 and f"{what} {lo:.3f}-{hi:.3f}" in seed_note()
    assert "3 seeds" in seed_note()


def test_advice_leaves_out_what_the_run_already_has():
    gpu_run = replace(CPU_RUN, pretrained=True, symmetric=True, keypoints=8)
    v = judge(_row(0.0, 0.05), RENDERS, gpu_run, 80.0, on_cpu=False)
    assert v.level == "not learned"
    assert len(v.advice) == 1 and "train.iterations" in v.advice[0]  # only: more steps


def test_no_match_at_all_is_not_learned():
    v = judge(_row(0.0, None, None), RENDERS, CPU_RUN, 40.0, on_cpu=True)
    assert v.level == "not learned" and "no detection matched a ground truth at box IoU 0.5" in v.reasons


def test_best_pt_from_the_first_of_several_validations_is_weak():
    early = replace(CPU_RUN, epoch=4)  # validations at epochs 4, 8, 12, 16; the best was the first
    assert early.best_at_first_of_several_validations
    v = judge(_row(0.3, 0.8), RENDERS, early, 40.0, on_cpu=False)
    assert v.level == "weak" and "best.pt is from the first validation (epoch 4 of 16)" in v.reasons[0]
    assert any("dvclive/plots" in a for a in v.advice)
    single = replace(CPU_RUN, epoch=2, epochs=2, eval_every=4)  # one validation only: nothing to compare
    assert not single.best_at_first_of_several_validations
    assert judge(_row(0.3, 0.8), RENDERS, single, 40.0, on_cpu=False) == Verdict("learned", RENDERS, [], [])


def test_nothing_to_measure_is_unknown():
    assert judge(_row(None, None), RENDERS, CPU_RUN, None, on_cpu=True).level == "unknown"


def test_training_facts_from_a_checkpoint():
    ckpt = {
        "train_config": {"batch_size": 4, "epochs": 12, "eval_every": 4},
        "state": {"epoch": 8},
        "iters_per_epoch": 50,
        "categories": [{"keypoints": ["a", "b"]}, {"keypoints": ["a", "b", "c"]}],
        "frozen_bn": True,
        "weights_note": "ImageNet weights of EfficientNet-Lite0",
        "model_config": {"min_size": 320},
    }
    t = Training.from_checkpoint(ckpt, symmetric=False)
    assert (t.keypoints, t.steps, t.epoch, t.epochs, t.pretrained, t.min_size) == (3, 400, 8, 12, True, 320)
    assert t.weights == "ImageNet weights of EfficientNet-Lite0"
    assert (t.anchor_share, t.better_anchors) == (None, "")  # a checkpoint from before the anchor fit
    fitted = Training.from_checkpoint({**ckpt, "anchor_fit": {"share": 0.37, "better": "model.x fit 99%"}}, False)
    assert (fitted.anchor_share, fitted.better_anchors) == (0.37, "model.x fit 99%")


def test_poorly_fitting_anchors_are_advised_with_the_params_that_fit():
    """A weak run whose train boxes missed the anchors is told which anchors fit; one whose anchors
    fit is not."""
    poor = replace(CPU_RUN, anchor_share=0.37, better_anchors="model.anchor_sizes: [[16, 23]] and ... fit 99%")
    weak = judge(_row(0.05, 0.6), RENDERS, poor, 40.0, on_cpu=True)
    assert weak.level == "weak"
    assert any(a.startswith("anchors that fit the object: 37% of the train boxes") and a.endswith("fit 99%")
               for a in weak.advice)  # fmt: skip
    fitting = judge(_row(0.05, 0.6), RENDERS, replace(CPU_RUN, anchor_share=0.99), 40.0, on_cpu=True)
    assert not any("anchors" in a for a in fitting.advice)


def test_object_size_in_the_model_input(tmp_path):
    """sqrt(box area) times the model's resize: 640 x 480 to min_size 240 is a factor 1/2."""
    data = {
        "images": [{"id": 1, "width": 640, "height": 480, "file_name": "a.png", "source": "synthetic"},
                   {"id": 2, "width": 640, "height": 480, "file_name": "b.png", "source": "real"}],
        "categories": [{"id": 1, "name": "t", "keypoints": ["k"], "skeleton": [], "rig": {"sigmas": [0.05]}}],
        "annotations": [
            {"id": i, "image_id": img, "category_id": 1, "bbox": [0, 0, w, h], "area": w * h, "iscrowd": 0,
             "keypoints": [1, 1, 2], "num_keypoints": 1}
            for i, (img, w, h) in enumerate([(1, 40, 10), (1, 100, 100), (1, 60, 60), (2, 400, 400)], start=1)
        ],
    }  # fmt: skip
    (tmp_path / "s.json").write_text(json.dumps(data))
    split = load_split(tmp_path / "s.json", check_files=False)
    # image 1's sizes 20, 100, 60 px -> median 60 -> 30 px in the model's input
    assert object_size_px(split, {1}, 240, 1000) == pytest.approx(30.0)
    assert object_size_px(split, None, 240, 1000) == pytest.approx((60 + 100) / 2 / 2)
    assert object_size_px(split, {3}, 240, 1000) is None
