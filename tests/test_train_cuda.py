"""CUDA only (skipped elsewhere): training with AMP and evaluation on a GPU, as a GPU user runs them.

CI has no GPU; these run on GPU machines (`pytest tests/test_train_cuda.py`).
"""

from __future__ import annotations

import json

import pytest
import torch

from pipeline.schema.train_params import ModelConfig, RuntimeConfig
from tests.support.params import TINY_MODEL
from tests.support.params import write_train_params as write_params
from tests.support.training import toy_data
from train import checkpoint
from train import evaluate as evaluate_cli
from train import train as train_cli
from train.devices import float32_head_outputs, setup_device
from train.network.model import build_model

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_amp_training_and_evaluation_on_cuda(tmp_path):
    data = toy_data(tmp_path / "toy", train=8, val=4, test=4)
    params = write_params(
        tmp_path / "p.yaml", train={"epochs": 3}, runtime={"device": "cuda", "amp": "auto", "workers": 2}
    )
    live = tmp_path / "live"
    args = ["--params", str(params), "--data", str(data), "--out", str(tmp_path / "m"), "--live-dir", str(live)]
    assert train_cli.main(args) == 0
    last = checkpoint.load(tmp_path / "m" / "last.pt")
    assert last["state"]["epoch"] == 3
    assert all(torch.isfinite(t).all() for t in last["model"].values() if t.is_floating_point())
    best = checkpoint.load(tmp_path / "m" / "best.pt")
    losses = {k: v for k, v in best["metrics"].items() if k.startswith("train/loss")}
    assert losses and all(v == v and abs(v) < 1e4 for v in losses.values())  # finite under bf16 / fp16
    out = tmp_path / "metrics"
    args = ["--params", str(params), "--data", str(data), "--model", str(tmp_path / "m" / "best.pt"), "--out", str(out)]
    assert evaluate_cli.main(args) == 0
    ap = json.loads((out / "eval.json").read_text())["test"]["keypoints_AP"]
    assert 0.0 <= ap <= 1.0


def test_amp_inference_keeps_boxes_in_fp32():
    """Under bf16 autocast the detector's boxes and keypoints come out fp32, close to fp32 inference."""
    setup = setup_device(RuntimeConfig(device="cuda", amp="auto"))
    torch.manual_seed(0)
    model, _, _ = build_model(ModelConfig.model_validate({**TINY_MODEL, "min_size": 800, "max_size": 1066}), 2, 2)
    model = model.to(setup.device).eval()
    images = [torch.rand(3, 600, 1000, device=setup.device)]
    with torch.no_grad():
        ref = model(images)[0]
        float32_head_outputs(model)
        with setup.autocast():
            amp = model(images)[0]
    assert amp["boxes"].dtype == torch.float32 and amp["keypoints"].dtype == torch.float32
    if len(ref["boxes"]) and len(amp["boxes"]):
        # the top box, found again among the AMP boxes: within a pixel, not on bf16's 4 px grid
        err = (amp["boxes"] - ref["boxes"][:1]).abs().max(dim=1).values.min()
        assert err < 1.0
