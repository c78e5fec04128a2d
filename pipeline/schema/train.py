"""Schema of the `train`, `model` and `evaluate` sections (owned by train/).

Every field has a default, so a params.yaml without these sections stays valid. The defaults
are the full-size GPU setup (ResNet-50-FPN, COCO-pretrained when the weights are cached); the
README's small CPU config overrides `model.backbone`, `model.min_size` and friends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from .common import Range, Strict

Backbone = Literal["resnet50_fpn", "resnet18_fpn", "mobilenet_v3_large_fpn", "mobilenet_v3_small_fpn"]


class Augmentation(Strict):
    """Online augmentation applied per training image (seeded from `seed`, epoch and index)."""

    hflip: float = Field(0.5, ge=0, le=1)  # probability; left/right keypoints swap by flip_pairs
    affine: float = Field(0.5, ge=0, le=1)  # probability of the zoom + shift below
    scale: Range = Range(min=0.75, max=1.25)  # zoom of the content; the canvas keeps its size
    translate: float = Field(0.1, ge=0, le=0.5)  # shift, fraction of width / height
    color: float = Field(0.8, ge=0, le=1)  # probability of the colour jitter below
    brightness: float = Field(0.25, ge=0, le=1)
    contrast: float = Field(0.25, ge=0, le=1)
    saturation: float = Field(0.25, ge=0, le=1)
    hue: float = Field(0.03, ge=0, le=0.5)

    @model_validator(mode="after")
    def _positive_scale(self):
        if self.scale.min <= 0:
            raise ValueError(f"scale: expected a zoom range > 0, got {self.scale.as_list()}")
        return self


class TrainConfig(Strict):
    epochs: int = Field(24, ge=1)
    batch_size: int = Field(4, ge=1)  # images per process (per GPU under torchrun)
    workers: int = Field(4, ge=0)  # data-loading processes per training process
    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"  # auto: CUDA, then MPS, then CPU
    amp: Literal["auto", "bf16", "fp16", "off"] = "auto"  # auto: bf16 (or fp16) on CUDA only
    channels_last: Literal["auto", "on", "off"] = "auto"  # auto: on with CUDA + AMP
    threads: int = Field(0, ge=0)  # CPU threads per process; 0 = torch's default
    optimizer: Literal["sgd", "adamw"] = "sgd"
    lr: float = Field(0.01, gt=0)  # peak learning rate, after warm-up, for the whole batch
    momentum: float = Field(0.9, ge=0, lt=1)  # SGD momentum (AdamW: beta1)
    weight_decay: float = Field(1e-4, ge=0)
    warmup_iters: int = Field(300, ge=0)  # linear warm-up from warmup_factor * lr
    warmup_factor: float = Field(0.001, gt=0, le=1)
    schedule: Literal["cosine", "step"] = "cosine"  # after warm-up, per iteration
    lr_steps: list[int] = [16, 22]  # epochs where `step` multiplies the rate by lr_gamma
    lr_gamma: float = Field(0.1, gt=0, le=1)
    clip_grad_norm: float = Field(10.0, ge=0)  # 0 = no clipping
    ema: bool = False  # keep an exponential moving average of the weights; evaluate with it
    ema_decay: float = Field(0.999, gt=0, lt=1)  # horizon ~ 1 / (1 - decay) = 1000 steps
    patience: int = Field(0, ge=0)  # stop after this many evaluations without a better AP; 0 = off
    eval_every: int = Field(1, ge=1)  # epochs between validation runs (the last epoch always runs)
    categories: list[str] | None = None  # rig names to train on; None = every category
    augment: Augmentation = Augmentation()

    @model_validator(mode="after")
    def _steps(self):
        if sorted(self.lr_steps) != list(self.lr_steps):
            raise ValueError(f"lr_steps: expected increasing epochs, got {self.lr_steps}")
        return self


class ModelConfig(Strict):
    """KeypointRCNN: num_classes = categories + 1, K = the most keypoints of any category."""

    backbone: Backbone = "resnet50_fpn"
    # "auto": COCO keypoint weights (resnet50_fpn) or ImageNet backbone weights from torchvision's
    # cache, else train from scratch with one loud warning. "none": from scratch. Or a path to a
    # detector or backbone state dict (.pth). Nothing is ever downloaded.
    weights: Literal["auto", "none"] | Path = "auto"
    trainable_backbone_layers: int | None = Field(None, ge=0, le=6)  # None: 3 pretrained, all else
    fpn_channels: int = Field(256, ge=8)
    box_head_dim: int = Field(1024, ge=8)  # width of the two-layer box head
    keypoint_head: list[int] = Field([512] * 8, min_length=1)  # channels of each 3x3 conv
    min_size: int = Field(640, ge=32)  # pixels: shorter image side after the model's resize
    max_size: int = Field(1066, ge=32)  # pixels: cap on the longer side
    anchor_sizes: list[list[int]] | None = None  # per feature level; None: 32, 64, ... per level
    aspect_ratios: list[float] = [0.5, 1.0, 2.0]  # height / width of the anchors
    rpn_post_nms_top_n_train: int = Field(2000, ge=1)  # proposals kept per image in training
    rpn_post_nms_top_n_test: int = Field(1000, ge=1)  # ... and at inference
    box_batch_size_per_image: int = Field(512, ge=1)  # RoIs sampled per image for the box loss
    box_score_thresh: float = Field(0.05, ge=0, le=1)  # detections kept at inference
    box_nms_thresh: float = Field(0.5, gt=0, le=1)
    box_detections_per_img: int = Field(100, ge=1)

    @model_validator(mode="after")
    def _sizes(self):
        if self.max_size < self.min_size:
            raise ValueError(f"max_size: expected >= min_size ({self.min_size}), got {self.max_size}")
        if self.weights == "auto" or self.weights == "none":
            return self
        if Path(self.weights).suffix not in (".pth", ".pt"):
            raise ValueError(f"weights: expected 'auto', 'none' or a .pth/.pt file, got {self.weights}")
        return self


class EvaluateConfig(Strict):
    splits: list[str] = ["val", "test", "val_synthetic"]  # <split>.json in the data folder
    batch_size: int = Field(4, ge=1)
    pck_thresholds: list[float] = [0.05, 0.1]  # fractions of the ground-truth box diagonal
    per_keypoint_ap: bool = True  # one extra COCOeval per keypoint
    contact_sheet: int = Field(16, ge=0)  # images per split in the prediction contact sheet
    draw_score_thresh: float = Field(0.5, ge=0, le=1)  # detections drawn on sheets and by predict
