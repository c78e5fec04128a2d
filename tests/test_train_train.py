"""train/train.py: outputs, exact resume, early stopping, bad data stopped before training."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from tests.support.params import write_train_params as write_params
from tests.support.training import toy_data
from train import checkpoint
from train import evaluate as evaluate_cli
from train import train as train_cli
from train.ddp import World
from train.loaders import GroupedEpochBatchSampler, ShardSampler, aspect_groups


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return toy_data(tmp_path_factory.mktemp("toy"), train=8, val=4, test=2)


def _train(tmp_path, data, params, out, *extra):
    args = ["--params", str(params), "--data", str(data), "--out", str(tmp_path / out)]
    return train_cli.main([*args, "--live-dir", str(tmp_path / f"live_{out}"), *extra])


def _same(a, b, where=""):
    """Equal nested checkpoint contents (tensors bit for bit)."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.slow
def test_resume_continues_exactly(tmp_path, data):
    """2 epochs in one go == 1 epoch, stop, --resume 1 more: model, EMA, optimizer, schedule."""
    params = write_params(tmp_path / "p.yaml", train={"epochs": 2, "ema": True, "ema_decay": 0.9})
    assert _train(tmp_path, data, params, "straight") == 0
    assert _train(tmp_path, data, params, "split", "--epochs-this-run", "1") == 0
    half = checkpoint.load(tmp_path / "split" / "last.pt")
    assert half["state"]["epoch"] == 1
    assert _train(tmp_path, data, params, "split", "--resume") == 0
    a = checkpoint.load(tmp_path / "straight" / "last.pt")
    b = checkpoint.load(tmp_path / "split" / "last.pt")
    for key in ("model", "ema", "optimizer", "scheduler", "scaler", "state"):
        _same(a[key], b[key], key)
    assert not torch.equal(half["model"]["roi_heads.box_head.fc6.weight"], b["model"]["roi_heads.box_head.fc6.weight"])
    # outputs: best.pt for inference, dvclive metrics for both epochs
    best = checkpoint.load(tmp_path / "straight" / "best.pt")
    assert best["ema"] is None and "val/keypoints_AP" in best["metrics"]
    metrics = json.loads((tmp_path / "live_straight" / "metrics.json").read_text())
    assert {"loss", "loss_keypoint", "lr"} <= set(metrics["train"]) and "keypoints_AP" in metrics["val"]
    rows = (tmp_path / "live_split" / "plots" / "metrics" / "train" / "loss.tsv").read_text().splitlines()
    assert len(rows) == 3  # header + epochs 1 and 2, the second logged by the resumed run


def test_resume_refuses_changed_params(tmp_path, data, capsys):
    params = write_params(tmp_path / "p.yaml", train={"epochs": 2})
    assert _train(tmp_path, data, params, "m", "--epochs-this-run", "1") == 0
    changed = write_params(tmp_path / "q.yaml", train={"epochs": 2, "lr": 0.5})
    assert _train(tmp_path, data, changed, "m", "--resume") == 2
    err = capsys.readouterr().err
    assert "cannot resume exactly" in err and "train.lr" in err


def test_early_stopping_by_patience(tmp_path, data, capsys):
    params = write_params(tmp_path / "p.yaml", train={"epochs": 6, "patience": 1})
    assert _train(tmp_path, data, params, "m") == 0
    state = checkpoint.load(tmp_path / "m" / "last.pt")["state"]
    # an untrained model's AP cannot beat the first evaluation's: stop one evaluation later, and on
    # that tie best.pt holds the later model
    assert state["epoch"] == 2 < 6 and state["evals_since_best"] == 1
    assert state["best_epoch"] == 2 and state["best_ap"] == 0.0
    assert "early stop" in capsys.readouterr().out


def test_bad_data_stops_before_training(tmp_path, data, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    split = json.loads((data / "train.json").read_text())
    split["annotations"][0]["category_id"] = 0
    split["annotations"][1]["keypoints"] = split["annotations"][1]["keypoints"][:-3]
    for name in ("train", "val"):
        (bad / f"{name}.json").write_text(json.dumps(split))
    (bad / "images").symlink_to(data / "images")
    params = write_params(tmp_path / "p.yaml")
    assert _train(tmp_path, bad, params, "m") == 2
    err = capsys.readouterr().err
    assert str(bad / "train.json") in err and "category_id: 0 is the background label" in err
    assert "keypoints: 9 values, expected 3 x 4 = 12" in err or "keypoints: 6 values" in err
    assert not (tmp_path / "m").exists()


def test_grouped_sampler_shards_evenly_and_reshuffles():
    ratios = [1.0] * 7 + [1.33] * 6 + [0.75] * 3
    groups = aspect_groups(ratios)
    assert len(set(groups.tolist())) == 3
    shards = [GroupedEpochBatchSampler(groups, 2, World(r, 2), seed=0) for r in range(2)]
    seen = []
    for s in shards:
        s.set_epoch(3)
        batches = list(s)
        assert len(batches) == len(shards[0]) == 5  # ceil(9 batches / 2 ranks), equal per rank
        for b in batches:
            assert all(e == 3 for e, _ in b) and len({int(groups[i]) for _, i in b}) == 1
            seen += [i for _, i in b]
    assert set(seen) == set(range(16))
    a, b = shards[0], GroupedEpochBatchSampler(groups, 2, World(0, 2), seed=0)
    b.set_epoch(3)
    assert list(a) == list(b)
    b.set_epoch(4)
    assert list(a) != list(b)


def test_shard_sampler_covers_each_image_once():
    parts = [list(ShardSampler(11, World(r, 3))) for r in range(3)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(11))


def test_iteration_budget_sets_the_epochs(tmp_path, data, capsys):
    """train.iterations: 5 batches over 8 images in batches of 4 (2 a epoch) -> 3 epochs, and the
    cosine schedule reaches 0 at the end of the third."""
    params = write_params(tmp_path / "p.yaml", train={"epochs": 50, "iterations": 5, "batch_size": 4, "eval_every": 50})
    assert _train(tmp_path, data, params, "m") == 0
    last = checkpoint.load(tmp_path / "m" / "last.pt")
    assert last["state"]["epoch"] == 3 and last["iters_per_epoch"] == 2
    out = capsys.readouterr().out
    assert "epoch 3/3" in out
    assert "budget: 6 steps = 3 epochs x 2 batches of 4 (train.iterations 5, rounded up to whole epochs)" in out
    assert re.search(r"anchors: \d+% of \d+ train boxes have an anchor at IoU >= 0.7", out)
    assert 0 <= last["anchor_fit"]["share"] <= 1  # kept for the verdict's advice
    # 4 val images: best.pt is chosen on noise, and the log says so
    assert "warning: val.json holds 4 images, too few to choose best.pt on" in out
    assert last["scheduler"]["last_epoch"] == 6
    # resuming with the same params compares the resolved budget, not 50 epochs
    assert _train(tmp_path, data, params, "m", "--resume") == 0


def test_channels_last_trains_and_evaluates(tmp_path, data):
    """runtime.channels_last (on by default with CUDA + AMP) through the keypoint loss and evaluation.

    The keypoint logits come out NHWC under channels_last, where torchvision's loss `.view` fails;
    this runs the same memory format on the CPU.
    """
    params = write_params(tmp_path / "p.yaml", train={"epochs": 1}, runtime={"channels_last": "on"})
    assert _train(tmp_path, data, params, "cl") == 0
    args = ["--params", str(params), "--data", str(data), "--model", str(tmp_path / "cl" / "best.pt")]
    assert evaluate_cli.main([*args, "--out", str(tmp_path / "metrics")]) == 0
    assert (tmp_path / "metrics" / "eval.json").is_file()


def test_train_seed_repeats_training_alone(tmp_path, data):
    """train.seed replaces the top-level seed in training only: null trains as the top-level seed,
    and another value gives another model from the same data."""
    runs = {
        "top0": write_params(tmp_path / "a.yaml", train={"epochs": 1}),
        "train0": write_params(tmp_path / "b.yaml", train={"epochs": 1, "seed": 0}, seed=7),
        "train1": write_params(tmp_path / "c.yaml", train={"epochs": 1, "seed": 1}),
    }
    for name, params in runs.items():
        assert _train(tmp_path, data, params, name) == 0
    weights = {name: checkpoint.load(tmp_path / name / "last.pt")["model"] for name in runs}
    _same(weights["top0"], weights["train0"])
    key = "roi_heads.keypoint_predictor.kps_score_lowres.weight"
    assert not torch.equal(weights["top0"][key], weights["train1"][key])
