"""train/network/weights.py and the recipe knobs of a pretrained start: torchvision's weights by name
(from its cache, or fetched; offline a one-line error), a lower backbone rate, a late unfreeze."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from pydantic import ValidationError
from torchvision.models import resnet18

from pipeline.schema.train_params import ModelConfig, TrainConfig
from tests.support import ROOT
from tests.support.params import TINY_MODEL
from tests.support.params import write_train_params as write_params
from tests.support.training import toy_data
from train import checkpoint
from train import train as train_cli
from train.network.backbones import body_stages
from train.network.model import build_model
from train.network.weights import WeightsError, cached_file
from train.optim import build_optimizer

RESNET18 = "ResNet18_Weights.IMAGENET1K_V1"


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return toy_data(tmp_path_factory.mktemp("toy"), train=8, val=4, test=2)


def cfg(**kw) -> ModelConfig:
    return ModelConfig.model_validate({**TINY_MODEL, **kw})


def test_named_torchvision_weights_come_from_its_cache(empty_cache):
    torch.manual_seed(3)
    state = resnet18().state_dict()
    path = cached_file(RESNET18)
    assert path.parent == empty_cache
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    model, note, frozen = build_model(
        cfg(backbone="resnet18_fpn", weights=f"torchvision:{RESNET18}", anchor_sizes=None), 2, 3
    )
    assert frozen and RESNET18 in note and str(path) in note
    torch.testing.assert_close(model.backbone.body.layer3[0].conv1.weight, state["layer3.0.conv1.weight"])


def test_offline_request_fails_at_once_in_one_line_saying_where_to_put_the_file(tmp_path, data):
    """No network: a proxy on a closed port refuses at once, as a machine without one does."""
    params = write_params(
        tmp_path / "p.yaml",
        model={"backbone": "resnet18_fpn", "weights": f"torchvision:{RESNET18}", "anchor_sizes": None},
    )
    env = {
        **os.environ,
        "TORCH_HOME": str(tmp_path / "torch"),
        "https_proxy": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "no_proxy": "",
        "NO_PROXY": "",
    }
    out = tmp_path / "models"
    cmd = [sys.executable, "-m", "train.train", "--params", str(params), "--data", str(data), "--out", str(out)]
    proc = subprocess.run(
        [*cmd, "--live-dir", str(tmp_path / "live")], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert f"torchvision:{RESNET18}" in lines[0] and f"at {expected}" in lines[0]
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in lines[0]
    assert not out.exists()


def test_named_weights_must_fit_the_backbone(empty_cache):
    with pytest.raises(WeightsError, match="does not fit model.backbone mobilenet_v3_small_fpn"):
        build_model(cfg(weights=f"torchvision:{RESNET18}"), 2, 3)
    with pytest.raises(WeightsError, match="torchvision has no weights 'Nope_Weights.X'"):
        build_model(cfg(weights="torchvision:Nope_Weights.X"), 2, 3)
    with pytest.raises(ValidationError, match="expected torchvision:<Enum>.<member>"):
        cfg(weights="torchvision:ResNet18")


def test_backbone_lr_sets_the_body_group_and_unfreeze_keeps_frozen_stages_in_it():
    model, _, _ = build_model(cfg(trainable_backbone_layers=2), 2, 3)
    body = list(model.backbone.body.parameters())
    train = TrainConfig(lr=0.01, backbone_lr=0.1)
    groups = build_optimizer(model, train, torch.device("cpu")).param_groups
    assert [g["lr"] for g in groups] == pytest.approx([0.001, 0.01])
    assert len(groups[0]["params"]) == sum(p.requires_grad for p in body) < len(body)
    later = build_optimizer(model, train.model_copy(update={"unfreeze_at": 0.5}), torch.device("cpu"))
    assert len(later.param_groups[0]["params"]) == len(body)
    # a body trained from scratch learns at the heads' rate: backbone_lr is for a pretrained start
    scratch = build_optimizer(model, train, torch.device("cpu"), pretrained=False).param_groups
    assert [g["lr"] for g in scratch] == pytest.approx([0.01, 0.01])


@pytest.mark.slow
@pytest.mark.parametrize("unfreeze_at", [None, 0.5])
def test_frozen_stages_stay_put_unless_unfrozen(tmp_path, data, capsys, unfreeze_at):
    """Two epochs, the first 4 of 6 stages frozen: they change only after `unfreeze_at`."""
    params = write_params(
        tmp_path / "p.yaml",
        train={"epochs": 2, "unfreeze_at": unfreeze_at, "eval_every": 2},
        model={"trainable_backbone_layers": 2},
    )
    torch.manual_seed(0)  # the same initial weights as train.py draws for seed 0
    initial, _, _ = build_model(cfg(trainable_backbone_layers=2), 3, 4)
    args = ["--params", str(params), "--data", str(data), "--out", str(tmp_path / "m")]
    assert train_cli.main([*args, "--live-dir", str(tmp_path / "live")]) == 0
    model, _, _ = build_model(cfg(trainable_backbone_layers=2), 3, 4)
    model.load_state_dict(checkpoint.load(tmp_path / "m" / "last.pt")["model"])
    stem_before, stem_after = (body_stages(m.backbone)[0][0][0].weight for m in (initial, model))
    last_before, last_after = (body_stages(m.backbone)[-1][0][0].weight for m in (initial, model))
    assert not torch.equal(last_before, last_after)
    assert torch.equal(stem_before, stem_after) == (unfreeze_at is None)
    assert ("the whole backbone trains from now on" in capsys.readouterr().out) == (unfreeze_at is not None)
