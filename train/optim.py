"""Optimizer, learning-rate schedule (per iteration: linear warm-up, then cosine or steps) and
the optional weight EMA, all from torch's own classes so their state dicts resume exactly."""

from __future__ import annotations

import torch
from torch import nn
from torch.optim import lr_scheduler as sched
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from pipeline.schema.train_params import TrainConfig


def build_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    fast = {"fused": True} if device.type == "cuda" else {"foreach": True}
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **fast)
    return torch.optim.AdamW(params, lr=cfg.lr, betas=(cfg.momentum, 0.999), weight_decay=cfg.weight_decay, **fast)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, iters_per_epoch: int) -> sched.LRScheduler:
    """Stepped once per iteration. Warm-up ramps linearly from warmup_factor * lr to lr over
    warmup_iters; then cosine decays to 0 at the last iteration, or `step` multiplies by
    lr_gamma at each epoch in lr_steps."""
    total = cfg.epochs * iters_per_epoch
    warm = min(cfg.warmup_iters, total - 1)
    if cfg.schedule == "cosine":
        main = sched.CosineAnnealingLR(optimizer, T_max=max(1, total - warm), eta_min=0.0)
    else:
        steps = [max(1, e * iters_per_epoch - warm) for e in cfg.lr_steps]
        main = sched.MultiStepLR(optimizer, milestones=steps, gamma=cfg.lr_gamma)
    if warm <= 0:
        return main
    warmup = sched.LinearLR(optimizer, start_factor=cfg.warmup_factor, end_factor=1.0, total_iters=warm)
    return sched.SequentialLR(optimizer, [warmup, main], milestones=[warm])


def build_ema(model: nn.Module, cfg: TrainConfig) -> AveragedModel | None:
    """Exponential moving average of weights and buffers (horizon ~ 1 / (1 - ema_decay) steps)."""
    if not cfg.ema:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
