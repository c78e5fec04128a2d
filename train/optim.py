"""Optimizer, learning-rate schedule (per iteration: linear warm-up, then cosine or steps) and
the optional weight EMA, all from torch's own classes so their state dicts resume exactly."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim import lr_scheduler as sched
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from pipeline.schema.train_params import TrainConfig


def param_groups(model: nn.Module, cfg: TrainConfig, pretrained: bool = True) -> list[dict]:
    """A pretrained body at lr * backbone_lr (a body trained from scratch at lr), everything else
    at lr. With `unfreeze_at` the frozen body parameters join from the start: without gradients
    the optimizer skips them."""
    body = {id(p) for p in model.backbone.body.parameters()}
    later = cfg.unfreeze_at is not None
    groups = [
        {"params": [p for p in model.parameters() if id(p) in body and (p.requires_grad or later)]},
        {"params": [p for p in model.parameters() if id(p) not in body and p.requires_grad]},
    ]
    groups[0]["lr"] = cfg.lr * (cfg.backbone_lr if pretrained else 1.0)
    return [g for g in groups if g["params"]]


def build_optimizer(
    model: nn.Module, cfg: TrainConfig, device: torch.device, pretrained: bool = True
) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg, pretrained)
    fast = {"fused": True} if device.type == "cuda" else {"foreach": True}
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **fast)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.momentum, 0.999), weight_decay=cfg.weight_decay, **fast)


def unfreeze_epoch(cfg: TrainConfig) -> int | None:
    """The first epoch (0-based) in which the whole body trains: the first that starts at or
    after `unfreeze_at` of the budget."""
    return None if cfg.unfreeze_at is None else math.ceil(cfg.unfreeze_at * cfg.epochs)


def set_body_trainable(model: nn.Module) -> None:
    for p in model.backbone.body.parameters():
        p.requires_grad_(True)


def warmup_warning(cfg: TrainConfig, steps: int) -> str | None:
    """A warm-up longer than half the run leaves little of it at full rate (a short trial run with
    the default's 300 steps, measured for 1600)."""
    if cfg.warmup_iters * 2 <= steps:
        return None
    return (
        f"warning: train.warmup_iters {cfg.warmup_iters} is more than half of the {steps} steps, so the learning "
        f"rate ramps up for most of the run; set train.warmup_iters to {steps // 5} or less for a run this short"
    )


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
