"""How many of the box head's ReLU units ever fire: the diagnosis of a collapsed box branch.

    python examples/pretrained/box_head_units.py DATA CHECKPOINT... [--split test] [--images 12]

For each checkpoint (a run's `best.pt` or `last.pt`), the detector runs on the first IMAGES images
of DATA/SPLIT.json, and the two layers of torchvision's TwoMLPHead (fc6, fc7) are watched on every
RoI the box head scores. A unit that is positive on no RoI is dead: it passes no gradient and
says nothing to the box classifier. A collapsed run (box AP near 0 while its keypoints are placed
well) shows most of fc6 dead and about 1 % of its units active per RoI, from the second epoch on
(docs/results/2026-12-05-pretrained-start.md, "A longer warm-up").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.errors import run_command  # noqa: E402
from train.checkpoint import load, model_from_checkpoint  # noqa: E402
from train.dataset import load_split, read_rgb  # noqa: E402
from train.export import to_input  # noqa: E402


def unit_activity(model: torch.nn.Module, images: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per layer, the share of RoIs on which each unit is positive (0 for a dead unit)."""
    fired: dict[str, list[torch.Tensor]] = {"fc6": [], "fc7": []}
    head = model.roi_heads.box_head
    hooks = [
        getattr(head, name).register_forward_hook(lambda _m, _i, out, name=name: fired[name].append(out > 0))
        for name in fired
    ]
    try:
        with torch.no_grad():
            for image in images:
                model([image])
    finally:
        for h in hooks:
            h.remove()
    return {name: torch.cat(v).float().mean(0) for name, v in fired.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="a mixed data folder (train.json, test.json, ...)")
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("--split", default="test")
    ap.add_argument("--images", type=int, default=12)
    args = ap.parse_args(argv)
    return run_command(lambda: report(args))


def report(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    checkpoints = {path: load(path) for path in args.checkpoints}  # every bad path named before any work
    split = load_split(args.data / f"{args.split}.json")
    images = [to_input(read_rgb(split.root / im["file_name"])) for im in split.images[: args.images]]
    print("| checkpoint | fc6 dead | fc6 active per RoI | fc7 dead | fc7 active per RoI |")
    print("|---|---|---|---|---|")
    for path, ckpt in checkpoints.items():
        model, _, _ = model_from_checkpoint(ckpt)
        act = unit_activity(model, images)
        cells = [f"{int((a == 0).sum())}/{a.numel()} | {a.mean():.3f}" for a in act.values()]
        print(f"| {path} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
