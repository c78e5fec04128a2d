"""Checkpoints: `last.pt` resumes training exactly; `best.pt` (and `last.pt`) rebuild the model.

Everything stored is tensors, numbers, strings, lists and dicts, so `torch.load(weights_only=
True)` reads it. A checkpoint carries its model params and categories: predict, evaluate and
export need nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from pipeline.errors import Rig2kpError
from pipeline.schema.train_params import ModelConfig

from .dataset import LabelMap
from .model import build_detector

FORMAT = 1


class CheckpointError(Rig2kpError, ValueError):
    """A file that is not one of our checkpoints, or one that does not fit this run."""


def save(path: Path, state: dict) -> None:
    """Write atomically, so a crash mid-write never leaves a half checkpoint behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)


def load(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or "model" not in ckpt:
        raise CheckpointError(f"{path}: not a rig2kp checkpoint (expected keys format={FORMAT}, model)")
    return ckpt


def inference_state(ckpt: dict) -> dict:
    """The weights to predict with: the EMA average when the run kept one."""
    ema = ckpt.get("ema")
    if ema:
        return {k.removeprefix("module."): v for k, v in ema.items() if k != "n_averaged"}
    return ckpt["model"]


def model_from_checkpoint(ckpt: dict, **overrides) -> tuple[nn.Module, LabelMap, ModelConfig]:
    """Rebuild the detector (eval mode, CPU); `overrides` replace model params such as
    box_score_thresh, box_nms_thresh or box_detections_per_img (inference-only settings)."""
    cfg = ModelConfig.model_validate({**ckpt["model_config"], **overrides, "weights": "none"})
    labels = LabelMap.from_json(ckpt["categories"])
    model = build_detector(cfg, labels.num_classes, labels.num_keypoints, frozen_bn=ckpt["frozen_bn"])
    model.load_state_dict(inference_state(ckpt))
    return model.eval(), labels, cfg
