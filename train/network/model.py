"""Build torchvision's KeypointRCNN from `model` params, starting from the weights that
train/network/weights.py plans (pretrained when they can be had offline, never downloaded unasked).

Like torchvision, a pretrained body uses frozen batch norm and one from scratch trainable batch
norm; the image normalisation is the one the backbone's weights were trained with.
"""

from __future__ import annotations

from torchvision.models.detection import KeypointRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign

from pipeline.schema.train_params import ModelConfig
from train.network.backbones import BACKBONES, BackboneError, build_backbone, build_classifier, feature_levels
from train.network.weights import fetch, load_classifier, load_matching, load_state, plan_weights, warn_scratch


def build_detector(
    cfg: ModelConfig,
    num_classes: int,
    num_keypoints: int,
    frozen_bn: bool,
    backbone_state: dict | None = None,
) -> KeypointRCNN:
    """The detector, without detector weights; `frozen_bn` as when it was first built."""
    net = build_classifier(cfg, pretrained=frozen_bn)
    if backbone_state is not None:
        load_classifier(net, backbone_state, cfg)
    backbone = build_backbone(cfg, net, pretrained=frozen_bn)
    spec = BACKBONES[cfg.backbone]
    levels = feature_levels(cfg.backbone)
    names = [str(i) for i in range(levels - 1)]
    sizes = anchor_sizes(cfg)
    anchors = AnchorGenerator(tuple(tuple(s) for s in sizes), (tuple(cfg.aspect_ratios),) * levels)
    c = cfg.fpn_channels
    return KeypointRCNN(
        backbone,
        num_classes=None,  # given by box_predictor
        num_keypoints=None,  # given by keypoint_predictor
        min_size=cfg.min_size,
        max_size=cfg.max_size,
        image_mean=list(spec.image_mean),
        image_std=list(spec.image_std),
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


def anchor_sizes(cfg: ModelConfig) -> list[list[int]]:
    """Anchor sizes per feature level: the params', or torchvision's 32, 64, ... per level."""
    levels = feature_levels(cfg.backbone)
    sizes = cfg.anchor_sizes or [[32 * 2**i] for i in range(levels)]
    if len(sizes) != levels:
        raise BackboneError(
            f"model.anchor_sizes: {cfg.backbone} has {levels} feature levels, "
            f"expected {levels} lists of sizes, got {len(sizes)}"
        )
    return sizes


def build_model(cfg: ModelConfig, num_classes: int, num_keypoints: int) -> tuple[KeypointRCNN, str, bool]:
    """The detector with the best weights to be had, a one-line note on them, and whether its
    backbone uses frozen batch norm (needed to rebuild it from a checkpoint).

    Warns `PretrainedWeightsMissing` when `auto` finds nothing.
    """
    plan = plan_weights(cfg)
    fetch(plan)
    frozen = plan.kind != "none"
    backbone_state = load_state(plan.path) if plan.kind == "backbone" else None
    model = build_detector(cfg, num_classes, num_keypoints, frozen, backbone_state)
    if plan.kind == "detector":
        return model, plan.note + load_matching(model, load_state(plan.path)), frozen
    return model, plan.note or warn_scratch(cfg), frozen
