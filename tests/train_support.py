"""Shared helpers for the train/ tests: a tiny CPU config and toy dataset folders."""

from __future__ import annotations

from pathlib import Path

import yaml

from train.toyset import make_toyset

# The smallest model that still is a full KeypointRCNN: fast enough for tests on 2 CPU cores.
TINY_MODEL = {
    "backbone": "mobilenet_v3_small_fpn",
    "weights": "none",
    "fpn_channels": 32,
    "box_head_dim": 128,
    "keypoint_head": [32, 32],
    "min_size": 96,
    "max_size": 96,
    "anchor_sizes": [[16], [32], [64], [128]],
    "rpn_post_nms_top_n_train": 200,
    "rpn_post_nms_top_n_test": 50,
    "box_batch_size_per_image": 32,
    "box_detections_per_img": 10,
}
TINY_TRAIN = {
    "epochs": 2,
    "batch_size": 4,
    "workers": 0,
    "threads": 1,
    "lr": 0.01,
    "warmup_iters": 2,
}
RIGS = {"glue_tube": {"mesh": {"type": "glue_tube"}, "keypoints": [{"name": "head", "vertex_group": "head"}]}}


def write_params(path: Path, train: dict | None = None, model: dict | None = None, **sections) -> Path:
    """A params.yaml with the tiny model; `train` / `model` entries override the tiny ones."""
    params = {
        "seed": 0,
        "rigs": RIGS,
        "train": {**TINY_TRAIN, **(train or {})},
        "model": {**TINY_MODEL, **(model or {})},
        **sections,
    }
    path.write_text(yaml.safe_dump(params))
    return path


def toy_data(root: Path, train: int = 12, val: int = 4, test: int = 4) -> Path:
    return make_toyset(root, train=train, val=val, test=test, sizes=((96, 96), (96, 72)))
