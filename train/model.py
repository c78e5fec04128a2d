"""Build torchvision's KeypointRCNN from `model` params, with pretrained weights when cached.

Weights are never downloaded: `auto` looks in torchvision's cache (`torch.hub.get_dir()`) for
the COCO keypoint detector (resnet50_fpn only) or ImageNet backbone weights; with none, one
loud `PretrainedWeightsMissing` warning and training starts from scratch. Like torchvision,
pretrained backbones use frozen batch norm and scratch ones trainable batch norm.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision import models
from torchvision.models.detection import KeypointRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
from torchvision.ops.misc import FrozenBatchNorm2d

from pipeline.errors import Rig2kpError
from pipeline.schema.train_params import ModelConfig


class PretrainedWeightsMissing(UserWarning):
    """No pretrained weights could be had offline: the model trains from scratch."""


class WeightsError(Rig2kpError, ValueError):
    """A weights file named in params that is missing or does not fit the model."""


@dataclass(frozen=True)
class BackboneSpec:
    """Which torchvision classifier, its ImageNet weights, and which stages feed the FPN."""

    factory: str
    imagenet: str  # attribute path of the weights enum member
    returned: tuple[int, ...]  # resnet: layer1..4 numbers; mobilenet: stage numbers
    stages: int  # how many trainable stages exist (torchvision's trainable_layers maximum)


BACKBONES = {
    "resnet50_fpn": BackboneSpec("resnet50", "ResNet50_Weights.IMAGENET1K_V1", (1, 2, 3, 4), 5),
    "resnet18_fpn": BackboneSpec("resnet18", "ResNet18_Weights.IMAGENET1K_V1", (1, 2, 3, 4), 5),
    # strides 8, 16, 32 (torchvision's mobilenet FPN uses stride 32 only: too coarse for keypoints)
    "mobilenet_v3_large_fpn": BackboneSpec(
        "mobilenet_v3_large", "MobileNet_V3_Large_Weights.IMAGENET1K_V1", (2, 3, 5), 6
    ),
    "mobilenet_v3_small_fpn": BackboneSpec(
        "mobilenet_v3_small", "MobileNet_V3_Small_Weights.IMAGENET1K_V1", (2, 3, 5), 6
    ),
}
COCO_KEYPOINT_WEIGHTS = "KeypointRCNN_ResNet50_FPN_Weights.COCO_V1"


def _weights_enum(path: str):
    name, member = path.split(".")
    return getattr(getattr(models.detection, name, None) or getattr(models, name), member)


def cached_file(weights_name: str) -> Path:
    """Where torchvision would have cached these weights (the file may not exist)."""
    url = _weights_enum(weights_name).url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class WeightsPlan:
    kind: str  # "detector", "backbone" or "none"
    path: Path | None
    note: str


def plan_weights(cfg: ModelConfig) -> WeightsPlan:
    """Decide which weights to load without touching the network."""
    if cfg.weights == "none":
        return WeightsPlan("none", None, "weights: none (training from scratch, as asked)")
    if cfg.weights != "auto":
        path = Path(cfg.weights)
        if not path.is_file():
            raise WeightsError(f"model.weights: file {path} not found (use 'auto' or 'none')")
        return WeightsPlan(_kind_of(path), path, f"weights from {path}")
    spec = BACKBONES[cfg.backbone]
    if cfg.backbone == "resnet50_fpn" and cached_file(COCO_KEYPOINT_WEIGHTS).is_file():
        path = cached_file(COCO_KEYPOINT_WEIGHTS)
        return WeightsPlan("detector", path, f"COCO keypoint weights {path}")
    if cached_file(spec.imagenet).is_file():
        path = cached_file(spec.imagenet)
        return WeightsPlan("backbone", path, f"ImageNet backbone weights {path}")
    return WeightsPlan("none", None, "")


def _load_state(path: Path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # one of our checkpoints
    if not isinstance(state, dict):
        raise WeightsError(f"model.weights: {path} does not hold a state dict")
    return state


def _kind_of(path: Path) -> str:
    keys = _load_state(path).keys()
    return "detector" if any(k.startswith("backbone.body.") for k in keys) else "backbone"


def _classifier(spec: BackboneSpec, norm_layer) -> nn.Module:
    return getattr(models, spec.factory)(weights=None, norm_layer=norm_layer)


def _freeze(stages: list[nn.Module], trainable: int) -> None:
    """Freeze all but the last `trainable` stages (torchvision's trainable_layers)."""
    for stage in stages[: len(stages) - trainable]:
        for p in stage.parameters():
            p.requires_grad_(False)


def build_backbone(cfg: ModelConfig, pretrained: bool, state: dict | None = None) -> BackboneWithFPN:
    """Classifier body + FPN of `fpn_channels`; `state`: ImageNet weights to load first."""
    spec = BACKBONES[cfg.backbone]
    net = _classifier(spec, FrozenBatchNorm2d if pretrained else nn.BatchNorm2d)
    if state is not None:
        missing, unexpected = net.load_state_dict(state, strict=False)
        body_missing = [k for k in missing if not k.startswith(("fc.", "classifier."))]
        if body_missing or len(unexpected) == len(state):
            raise WeightsError(f"model.weights: not {spec.factory} ImageNet weights (missing {body_missing[:5]})")
    trainable = cfg.trainable_backbone_layers
    if trainable is None:
        trainable = 3 if pretrained else spec.stages
    if trainable > spec.stages:
        raise WeightsError(f"model.trainable_backbone_layers: {cfg.backbone} has {spec.stages} stages, got {trainable}")
    if spec.factory.startswith("resnet"):
        stages = [
            nn.ModuleList([net.conv1, net.bn1]),
            net.layer1,
            net.layer2,
            net.layer3,
            net.layer4,
        ]
        _freeze(stages, trainable)
        return_layers = {f"layer{i}": str(j) for j, i in enumerate(spec.returned)}
        expansion = 4 if hasattr(net.layer1[-1], "conv3") else 1  # bottleneck blocks
        in_channels = [64 * expansion * 2 ** (i - 1) for i in spec.returned]
        body = net
    else:
        features = net.features
        idx = [0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)]
        idx.append(len(features) - 1)
        bounds = idx[1:] + [len(features)]
        stages = [nn.ModuleList(features[a:b]) for a, b in zip(idx, bounds, strict=True)]
        # the stem (features[0]) is its own stage, as in torchvision's _mobilenet_extractor
        _freeze(stages, trainable)
        return_layers = {str(idx[s]): str(j) for j, s in enumerate(spec.returned)}
        in_channels = [features[idx[s]].out_channels for s in spec.returned]
        body = features
    return BackboneWithFPN(body, return_layers, in_channels, cfg.fpn_channels, extra_blocks=LastLevelMaxPool())


def build_detector(
    cfg: ModelConfig,
    num_classes: int,
    num_keypoints: int,
    frozen_bn: bool,
    backbone_state: dict | None = None,
) -> KeypointRCNN:
    """The detector, without detector weights; `frozen_bn` as when it was first built."""
    backbone = build_backbone(cfg, pretrained=frozen_bn, state=backbone_state)
    levels = len(BACKBONES[cfg.backbone].returned) + 1  # + the FPN's max-pool level
    names = [str(i) for i in range(levels - 1)]
    sizes = cfg.anchor_sizes or [[32 * 2**i] for i in range(levels)]
    if len(sizes) != levels:
        raise WeightsError(
            f"model.anchor_sizes: {cfg.backbone} has {levels} feature levels, "
            f"expected {levels} lists of sizes, got {len(sizes)}"
        )
    anchors = AnchorGenerator(tuple(tuple(s) for s in sizes), (tuple(cfg.aspect_ratios),) * levels)
    c = cfg.fpn_channels
    return KeypointRCNN(
        backbone,
        num_classes=None,  # given by box_predictor
        num_keypoints=None,  # given by keypoint_predictor
        min_size=cfg.min_size,
        max_size=cfg.max_size,
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=cfg.rpn_pre_nms_top_n_train,
        rpn_pre_nms_top_n_test=cfg.rpn_pre_nms_top_n_test,
        rpn_post_nms_top_n_train=cfg.rpn_post_nms_top_n_train,
        rpn_post_nms_top_n_test=cfg.rpn_post_nms_top_n_test,
        box_roi_pool=MultiScaleRoIAlign(names, output_size=7, sampling_ratio=2),
        box_head=TwoMLPHead(c * 7 * 7, cfg.box_head_dim),
        box_predictor=FastRCNNPredictor(cfg.box_head_dim, num_classes),
        box_batch_size_per_image=cfg.box_batch_size_per_image,
        box_score_thresh=cfg.box_score_thresh,
        box_nms_thresh=cfg.box_nms_thresh,
        box_detections_per_img=cfg.box_detections_per_img,
        keypoint_roi_pool=MultiScaleRoIAlign(names, output_size=14, sampling_ratio=2),
        keypoint_head=KeypointRCNNHeads(c, list(cfg.keypoint_head)),
        keypoint_predictor=KeypointRCNNPredictor(cfg.keypoint_head[-1], num_keypoints),
    )


def build_model(cfg: ModelConfig, num_classes: int, num_keypoints: int) -> tuple[KeypointRCNN, str, bool]:
    """The detector with the best weights to be had offline, a one-line note on them, and
    whether its backbone uses frozen batch norm (needed to rebuild it from a checkpoint).

    Warns `PretrainedWeightsMissing` when `auto` finds nothing in the cache.
    """
    plan = plan_weights(cfg)
    frozen = plan.kind != "none"
    backbone_state = _load_state(plan.path) if plan.kind == "backbone" else None
    model = build_detector(cfg, num_classes, num_keypoints, frozen, backbone_state)
    if plan.kind == "detector":
        return model, plan.note + _load_matching(model, _load_state(plan.path)), frozen
    return model, plan.note or _warn_scratch(cfg), frozen


def _load_matching(model: nn.Module, state: dict) -> str:
    """Load every tensor whose name and shape match; the keypoint predictor differs when K != 17."""
    own = model.state_dict()
    fits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not any(k.startswith("backbone.body.") for k in fits):
        raise WeightsError("model.weights: no backbone tensor fits this model (other backbone?)")
    model.load_state_dict(fits, strict=False)
    skipped = sorted({k.rsplit(".", 1)[0] for k in own if k not in fits})
    return f" ({len(fits)}/{len(own)} tensors loaded; new: {', '.join(skipped) or 'none'})"


def _warn_scratch(cfg: ModelConfig) -> str:
    spec = BACKBONES[cfg.backbone]
    wanted = [cached_file(spec.imagenet)]
    if cfg.backbone == "resnet50_fpn":
        wanted.insert(0, cached_file(COCO_KEYPOINT_WEIGHTS))
    msg = (
        "\n" + "!" * 78 + "\nNO PRETRAINED WEIGHTS: training "
        f"{cfg.backbone} FROM SCRATCH (slower to converge, lower accuracy).\n"
        f"Looked for: {', '.join(str(p) for p in wanted)}.\n"
        "Nothing is downloaded: copy one of those files there (or set model.weights to a file),\n"
        "or set model.weights: none to silence this.\n" + "!" * 78
    )
    warnings.warn(msg, PretrainedWeightsMissing, stacklevel=3)
    return "no pretrained weights found: training from scratch"
