"""Train step time of each backbone recipe, side by side, on the same batches.

    python benchmarks/backbone_steps.py --data data/mixed               # the default data
    python benchmarks/backbone_steps.py --data data/mixed --steps 40 --arms lite0_frozen lite0_t3

Each arm is a `--set`-style change of the shipped params.yaml (ARMS below). Every arm trains the
same batches (fixed order, no loader workers, the training augmentation off) after WARMUP untimed
steps; arms alternate in rounds so machine load hits them alike. Reported: the median seconds per
step of `batch_size` images, forward + backward + optimizer, on `runtime.threads` threads.
What a step costs decides how many steps fit in `make all`'s CPU minutes (issue 23).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.schema import load_params  # noqa: E402
from train.dataset import KeypointDataset, collate, load_split  # noqa: E402
from train.network.model import build_model  # noqa: E402
from train.optim import build_optimizer  # noqa: E402

LITE0 = {"model.backbone": "efficientnet_lite0_fpn"}
ARMS = {
    "mnv3s_scratch": {"model.backbone": "mobilenet_v3_small_fpn", "model.weights": "none"},  # before issue 23
    "lite0_frozen": {**LITE0, "model.trainable_backbone_layers": 0},
    "lite0_t3": {**LITE0, "model.trainable_backbone_layers": 3, "train.backbone_lr": 0.1},
    "lite0_t3_anch3": {  # the default's anchors before 2026-12-06: one size x 3 shapes per level
        **LITE0,
        "model.trainable_backbone_layers": 3,
        "train.backbone_lr": 0.1,
        "model.anchor_sizes": [[16], [32], [64], [128]],
        "model.aspect_ratios": [0.5, 1.0, 2.0],
    },
    "lite0_all": {**LITE0, "model.trainable_backbone_layers": 8, "train.backbone_lr": 0.1},
    "lite1_frozen": {"model.backbone": "efficientnet_lite1_fpn", "model.trainable_backbone_layers": 0},
    "lite2_frozen": {"model.backbone": "efficientnet_lite2_fpn", "model.trainable_backbone_layers": 0},
}
WARMUP = 3


def arm_model(params_path: Path, change: dict, num_classes: int, num_keypoints: int):
    params = load_params(params_path, overrides=change)
    torch.manual_seed(0)
    model, _, _ = build_model(params.model, num_classes, num_keypoints)
    model.train()
    return params, model, build_optimizer(model, params.train, torch.device("cpu"))


def step(model, optimizer, images, targets) -> float:
    t0 = time.perf_counter()
    loss = sum(model(images, targets).values())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/mixed"), help="folder with train.json")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per arm")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    args = parser.parse_args(argv)

    split = load_split(args.data / "train.json")
    labels = split.label_map(None)
    base = load_params(args.params)
    torch.set_num_threads(base.runtime.threads)
    fit = (base.model.min_size, base.model.max_size)
    ds = KeypointDataset(split, labels, fit=fit)
    b = base.train.batch_size
    batches = [collate([ds[(i * b + j) % len(ds)] for j in range(b)]) for i in range(WARMUP + args.steps)]
    arms = {name: arm_model(args.params, ARMS[name], labels.num_classes, labels.num_keypoints) for name in args.arms}
    times = {name: [] for name in arms}
    for i, (images, targets) in enumerate(batches):
        for name, (_, model, optimizer) in arms.items():
            t = step(model, optimizer, [im.float().div(255) for im in images], [dict(t) for t in targets])
            if i >= WARMUP:
                times[name].append(t)
    print(f"{args.steps} steps of {b} images, {base.runtime.threads} thread(s), after {WARMUP} warm-up steps")
    ref = statistics.median(times[args.arms[0]])
    for name, ts in times.items():
        med = statistics.median(ts)
        trainable = sum(p.numel() for p in arms[name][1].parameters() if p.requires_grad)
        print(f"{name:16s} {med:6.3f} s/step  x{med / ref:4.2f}  {trainable / 1e6:5.2f} M trainable parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
