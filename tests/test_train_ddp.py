"""DDP through torchrun: 2 CPU processes talking gloo train, evaluate and checkpoint once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.params import write_train_params as write_params
from tests.support.training import toy_data
from train import checkpoint

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_two_process_gloo_training(tmp_path):
    data = toy_data(tmp_path / "data", train=12, val=4, test=2)
    params = write_params(tmp_path / "p.yaml", train={"epochs": 2, "batch_size": 2})
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "train.train", "--params", str(params), "--data", str(data),
        "--out", str(tmp_path / "m"), "--live-dir", str(tmp_path / "live"),
    ]  # fmt: skip
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "processes: 2" in run.stdout
    assert run.stdout.count("epoch 2/2") == 1  # rank 0 alone reports
    ckpt = checkpoint.load(tmp_path / "m" / "last.pt")
    # 12 images in 2 aspect groups of 6 -> 3 batches of 2 each -> 6 batches, 3 per rank
    assert ckpt["iters_per_epoch"] == 3 and ckpt["state"]["epoch"] == 2
    assert "module." not in next(iter(ckpt["model"]))  # saved unwrapped: loads without DDP
    metrics = json.loads((tmp_path / "live" / "metrics.json").read_text())
    assert metrics["step"] == 1 and "keypoints_AP" in metrics["val"]
    assert (tmp_path / "m" / "best.pt").is_file()
