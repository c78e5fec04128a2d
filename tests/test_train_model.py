"""train/network/model.py: the architecture, and pretrained weights taken only from disk."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision.models import mobilenet_v3_small
from torchvision.models.detection import keypointrcnn_resnet50_fpn
from torchvision.ops.misc import FrozenBatchNorm2d

from pipeline.schema import load_params
from pipeline.schema.train_params import ModelConfig
from tests.support.params import TINY_MODEL
from train.network.backbones import BackboneError
from train.network.model import build_model
from train.network.weights import (
    COCO_KEYPOINT_WEIGHTS,
    PretrainedWeightsMissing,
    WeightsError,
    cached_file,
    plan_weights,
)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def tiny(**kw) -> ModelConfig:
    return ModelConfig.model_validate({**TINY_MODEL, **kw})


def test_resnet50_fpn_is_torchvisions_keypoint_rcnn_layout(empty_cache):
    """Same tensor names and shapes as torchvision's, so its COCO weights load one to one."""
    ours, _, _ = build_model(ModelConfig.full_size(weights="none"), num_classes=2, num_keypoints=17)
    ref = keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_keypoints=17)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}


def test_the_gpu_example_is_torchvisions_layout_so_coco_weights_load():
    """params_gpu.yaml pins torchvision's heads and anchors: the schema's defaults are the slim CPU ones,
    which once shrank it silently (COCO keypoint weights then loaded only in part)."""
    path = Path(__file__).parents[1] / "examples" / "glue_tubes_real" / "params_gpu.yaml"
    model = load_params(path).model
    sizes = model.model_dump(include={"min_size", "max_size", "box_detections_per_img"})
    assert model.model_dump() == ModelConfig.full_size(**sizes).model_dump()


def test_without_cached_weights_one_loud_warning_then_scratch(empty_cache):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, note, frozen = build_model(tiny(weights="auto"), num_classes=3, num_keypoints=4)
    missing = [w for w in caught if issubclass(w.category, PretrainedWeightsMissing)]
    assert len(missing) == 1 and "FROM SCRATCH" in str(missing[0].message)
    assert str(cached_file("MobileNet_V3_Small_Weights.IMAGENET1K_V1")) in str(missing[0].message)
    assert "scratch" in note and frozen is False
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.backbone.modules())
    assert all(p.requires_grad for p in model.parameters())


def test_cached_imagenet_backbone_is_loaded_and_frozen_in_part(empty_cache):
    torch.manual_seed(1)
    state = mobilenet_v3_small().state_dict()
    path = cached_file("MobileNet_V3_Small_Weights.IMAGENET1K_V1")
    assert path.parent == empty_cache
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when weights exist
        model, note, frozen = build_model(tiny(weights="auto"), num_classes=3, num_keypoints=4)
    assert frozen and "ImageNet" in note
    body = model.backbone.body
    torch.testing.assert_close(body["0"][0].weight, state["features.0.0.weight"])
    torch.testing.assert_close(body["12"][0].weight, state["features.12.0.weight"])
    assert any(isinstance(m, FrozenBatchNorm2d) for m in body.modules())
    # torchvision's default with pretrained weights: the last 3 of 6 stages train
    assert not body["0"][0].weight.requires_grad and body["12"][0].weight.requires_grad


def test_detector_weights_from_a_path_load_all_but_mismatched_heads(tmp_path, empty_cache):
    """As with COCO weights (K = 17): every tensor that fits loads; K and class heads start new."""
    torch.manual_seed(2)
    source, _, _ = build_model(tiny(weights="none"), num_classes=2, num_keypoints=17)
    path = tmp_path / "detector.pth"
    torch.save(source.state_dict(), path)
    model, note, _ = build_model(tiny(weights=str(path)), num_classes=3, num_keypoints=4)
    src, got = source.state_dict(), model.state_dict()
    assert "roi_heads.keypoint_predictor.kps_score_lowres" in note
    assert "roi_heads.box_predictor.cls_score" in note
    for key in ("backbone.body.0.0.weight", "rpn.head.conv.0.0.weight", "roi_heads.keypoint_head.0.weight"):
        torch.testing.assert_close(got[key], src[key])
    assert got["roi_heads.keypoint_predictor.kps_score_lowres.weight"].shape[1] == 4


def test_coco_weights_are_preferred_for_resnet50(empty_cache):
    path = cached_file(COCO_KEYPOINT_WEIGHTS)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")  # planning looks at the file's presence only
    plan = plan_weights(ModelConfig(backbone="resnet50_fpn", weights="auto"))
    assert plan.kind == "detector" and plan.path == path
    assert plan_weights(ModelConfig(backbone="resnet18_fpn", weights="auto")).kind == "none"


def test_named_weights_file_must_exist(tmp_path):
    with pytest.raises(WeightsError, match=r"model.weights: file .*nope.pth not found"):
        build_model(tiny(weights=str(tmp_path / "nope.pth")), 3, 4)


def test_anchor_levels_must_match_feature_levels():
    with pytest.raises(BackboneError, match="model.anchor_sizes: mobilenet_v3_small_fpn has 4 feature"):
        build_model(tiny(anchor_sizes=[[16], [32]]), 3, 4)


def test_forward_shapes(empty_cache):
    torch.manual_seed(0)
    model, _, _ = build_model(tiny(weights="none", box_score_thresh=0.0), 3, 4)
    images = [torch.rand(3, 96, 96), torch.rand(3, 72, 96)]
    targets = [
        {
            "boxes": torch.tensor([[10.0, 10.0, 50.0, 60.0]]),
            "labels": torch.tensor([2]),
            "keypoints": torch.tensor([[[12.0, 12, 2], [48, 12, 2], [48, 58, 1], [0, 0, 0]]]),
        },
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64), "keypoints": torch.zeros(0, 4, 3)},
    ]
    losses = model.train()(images, targets)
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_keypoint", "loss_objectness", "loss_rpn_box_reg"}
    assert all(torch.isfinite(v) for v in losses.values())
    out = model.eval()(images)
    assert out[0]["keypoints"].shape[1:] == (4, 3) and len(out[0]["boxes"]) == 10


def test_anchor_sizes_must_have_one_count_per_level():
    """torchvision's RPN head predicts one anchor count at every level: a ragged list fails at load,
    naming the key, not in the first forward pass."""
    with pytest.raises(ValueError, match="anchor_sizes: expected as many sizes at every level"):
        tiny(anchor_sizes=[[16, 23], [32], [64], [128]])
    sizes = [[16, 23], [32, 45], [64, 91], [128, 181]]
    model, _, _ = build_model(tiny(anchor_sizes=sizes, aspect_ratios=[0.25, 0.5, 1.0, 2.0, 4.0]), 3, 4)
    assert model.rpn.anchor_generator.num_anchors_per_location() == [10] * 4
