"""train/optim.py: the learning rate each iteration follows the written formula."""

from __future__ import annotations

import math

import pytest
import torch

from pipeline.schema.train_params import TrainConfig
from train.optim import build_ema, build_scheduler, warmup_warning


def _rates(cfg: TrainConfig, iters_per_epoch: int) -> list[float]:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=cfg.lr)
    sched = build_scheduler(opt, cfg, iters_per_epoch)
    rates = []
    for _ in range(cfg.epochs * iters_per_epoch):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def test_warmup_then_cosine():
    cfg = TrainConfig(epochs=4, lr=0.1, warmup_iters=10, warmup_factor=0.01, schedule="cosine")
    rates = _rates(cfg, iters_per_epoch=10)
    for i, r in enumerate(rates):
        if i < 10:  # linear from 0.01 * lr to lr
            expected = 0.1 * (0.01 + (1 - 0.01) * i / 10)
        else:  # cosine from lr to 0 over the remaining 30 iterations
            expected = 0.1 * 0.5 * (1 + math.cos(math.pi * (i - 10) / 30))
        assert r == pytest.approx(expected, rel=1e-6, abs=1e-12), i


def test_warmup_then_steps_at_epochs():
    cfg = TrainConfig(
        epochs=5, lr=0.2, warmup_iters=4, warmup_factor=0.5, schedule="step", lr_steps=[2, 4], lr_gamma=0.1
    )
    rates = _rates(cfg, iters_per_epoch=8)
    for i, r in enumerate(rates):
        expected = 0.2 * (0.5 + 0.5 * i / 4) if i < 4 else 0.2 * 0.1 ** ((i >= 16) + (i >= 32))
        assert r == pytest.approx(expected, rel=1e-6), i


def test_a_warmup_longer_than_half_the_run_is_named_with_a_length_that_fits():
    assert TrainConfig().warmup_iters == 300  # the shipped default, measured for 1600 steps
    assert warmup_warning(TrainConfig(), 1696) is None  # make all's budget
    assert warmup_warning(TrainConfig(warmup_iters=300), 600) is None  # exactly half: fine
    msg = warmup_warning(TrainConfig(warmup_iters=300), 200)
    assert "train.warmup_iters 300" in msg and "200 steps" in msg and "to 40 or less" in msg


def test_ema_averages_with_the_given_decay():
    cfg = TrainConfig(ema=True, ema_decay=0.9)
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema = build_ema(model, cfg)
    values = [1.0, 2.0, 4.0]  # the first update copies, then ema = 0.9 ema + 0.1 w
    for v in values:
        with torch.no_grad():
            model.weight.fill_(v)
        ema.update_parameters(model)
    expected = 0.9 * (0.9 * 1.0 + 0.1 * 2.0) + 0.1 * 4.0
    assert ema.module.weight.item() == pytest.approx(expected)
