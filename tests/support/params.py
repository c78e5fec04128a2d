"""Params files for the tests: the shipped rigs at thumbnail size, and the tiny training setup."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support import ROOT


def write_params(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def shipped_box() -> dict:
    """The box rig of examples/box (8 corners, flip pairs): the tests render it beside the tube."""
    return yaml.safe_load((ROOT / "examples" / "box" / "params.yaml").read_text())["rigs"]


def built_example(params: Path, tmp_path: Path) -> Path:
    """An example's params in a copy of its folder; when they name files under `build/` (which Git
    ignores, e.g. examples/pliers/build/pliers.blend), its `make_*.py` scripts build them there
    first. Scripts that need outside data (a decal cut from the real photos) are not run."""
    folder = tmp_path / params.parent.name
    shutil.copytree(params.parent, folder, ignore=shutil.ignore_patterns("build"))
    if "build/" in params.read_text():
        for script in sorted(folder.glob("make_*.py")):
            proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return folder / params.name


def tiny_params(num_images: int = 4, **render_overrides) -> dict:
    """The shipped rigs (params.yaml's glue tube + examples/box) at thumbnail size and few samples:
    a real render in about a second an image."""
    data = yaml.safe_load((ROOT / "params.yaml").read_text())
    data = {"seed": 7, "rigs": {**data["rigs"], **shipped_box()}}
    data["render"] = {
        "num_images": num_images,
        "resolutions": [[96, 72], [64, 80]],
        "samples": 4,
        "denoise": False,
        "shard_size": 2,
        "workers": 1,
        "min_visible_px": 10,
        **render_overrides,
    }
    return data


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
    "aspect_ratios": [0.5, 1.0, 2.0],
    "rpn_post_nms_top_n_train": 200,
    "rpn_post_nms_top_n_test": 50,
    "box_batch_size_per_image": 32,
    "box_detections_per_img": 10,
}
TINY_TRAIN = {
    "epochs": 2,
    "iterations": None,
    "batch_size": 4,
    "optimizer": "sgd",
    "lr": 0.01,
    "warmup_iters": 2,
    "eval_every": 1,
}
TINY_RUNTIME = {"workers": 0, "threads": 1}
# a box with three named points, the rig of the drawn datasets (tests/support/coco_data.py)
THING = {
    "thing": {
        "mesh": {"type": "box"},
        "keypoints": [
            {"name": "left_a", "position": [0, 0, 0]},
            {"name": "right_a", "position": [1, 0, 0]},
            {"name": "mid", "position": [0, 1, 0]},
        ],
    }
}
RIGS = {"glue_tube": {"mesh": {"type": "glue_tube"}, "keypoints": [{"name": "head", "vertex_group": "head"}]}}


def write_train_params(
    path: Path, train: dict | None = None, model: dict | None = None, runtime: dict | None = None, **sections
) -> Path:
    """A params.yaml with the tiny model; `train` / `model` / `runtime` entries override the tiny ones."""
    params = {
        "seed": 0,
        "rigs": RIGS,
        "train": {**TINY_TRAIN, **(train or {})},
        "model": {**TINY_MODEL, **(model or {})},
        "runtime": {**TINY_RUNTIME, **(runtime or {})},
        **sections,
    }
    path.write_text(yaml.safe_dump(params))
    return path
