"""Checkpoints: `last.pt` resumes training exactly; `best.pt` (and `last.pt`) rebuild the model.

Everything stored is tensors, numbers, strings, lists and dicts, so `torch.load(weights_only=
True)` reads it. A checkpoint carries its model params and categories: predict, evaluate and
export need nothing else.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torch import nn

from common.atomic import replacing, stale_temporaries
from pipeline.errors import Rig2kpError
from pipeline.schema.train_params import ModelConfig
from train.dataset import LabelMap
from train.network.model import build_detector

FORMAT = 1


class CheckpointError(Rig2kpError, ValueError):
    """A file that is not one of our checkpoints, or one that does not fit this run."""


def save(path: Path, state: dict) -> None:
    """Write atomically under a temporary name of this process (common/atomic.py), so a crash
    mid-write never leaves a half checkpoint behind and two processes never share one. torch
    reports a failed write (a full disk) as a RuntimeError: it becomes one OSError naming the
    checkpoint, and the temporary file is removed."""
    path = Path(path)
    try:
        with replacing(path) as tmp:
            torch.save({"format": FORMAT, **state}, tmp)
    except RuntimeError as exc:
        reason = (str(exc).strip().splitlines() or ["write failed"])[0][:160]
        free = shutil.disk_usage(path.parent).free // 2**20
        raise OSError(
            f"{path}: could not write the checkpoint ({free} MiB free there; torch: {reason}); "
            "free some space or write elsewhere (--out)"
        ) from None


def sweep_temporaries(folder: Path) -> list[Path]:
    """Remove the temporary checkpoints that killed processes left in `folder` (common/atomic.py
    names them; `NAME.tmp` is an earlier version's name)."""
    folder = Path(folder)
    found = [*folder.glob("*.pt.tmp")]
    for name in ("last.pt", "best.pt"):
        found += stale_temporaries(folder / name)
    for p in found:
        p.unlink(missing_ok=True)
    return found


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
