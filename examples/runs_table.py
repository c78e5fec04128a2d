"""Print a Markdown table of evaluated training runs (examples/*/experiments.sh call it).

    python examples/runs_table.py RUNS_FOLDER [--split test]

Every folder under RUNS_FOLDER that holds an `eval.json` and a `per_keypoint.json` (written by
`python -m train.evaluate --out ...`) is one row: keypoint AP and AP50, the symmetry-aware AP
when the data declare a symmetry, and PCK@0.1 and the pixel error averaged over the keypoints
(plain, and symmetry-aware), and where the keypoints go wrong (train/error_breakdown.py, runs
evaluated since it exists): PCK@0.1 of the hidden keypoints and the share of left/right pairs
swapped, pooled over the rigs. Rows are grouped by their path without its `seed<N>` part (e.g.
`sym/metrics`); each group ends with its mean and the spread (max - min) over its seeds, and a
note names every two groups whose AP ranges over their seeds overlap (their order is noise).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

COLUMNS = [
    "AP",
    "AP50",
    "AP sym",
    "PCK@0.1",
    "PCK@0.1 sym",
    "px error",
    "px error sym",
    "PCK@0.1 hidden",
    "L/R swapped",
]


def pooled(breakdown: dict, part: str, key: str, count: str) -> float | None:
    """`key` of every rig's `part` of an error breakdown, weighted by its `count` (None: nothing counted)."""
    entries = [e[part] for e in breakdown.values() if e[part][count] and e[part][key] is not None]
    total = sum(e[count] for e in entries)
    return sum(e[key] * e[count] for e in entries) / total if total else None


def row(folder: Path, split: str) -> dict[str, float | None] | None:
    report = json.loads((folder / "eval.json").read_text()).get(split)
    if report is None:
        return None
    per_kp = json.loads((folder / "per_keypoint.json").read_text())[split]
    entries = [e for cat in per_kp.values() for e in cat.values()]

    def mean(key: str) -> float | None:
        values = [e[key] for e in entries if e.get(key) is not None]
        return sum(values) / len(values) if values else None

    kp, sym = report["all"]["keypoints"], report["all"].get("keypoints_symmetric") or {}
    breakdown = report["all"].get("error_breakdown") or {}
    return {
        "AP": kp["AP"],
        "AP50": kp["AP50"],
        "AP sym": sym.get("AP"),
        "PCK@0.1": mean("pck@0.1"),
        "PCK@0.1 sym": mean("pck@0.1_symmetric"),
        "px error": mean("pixel_error"),
        "px error sym": mean("pixel_error_symmetric"),
        "PCK@0.1 hidden": pooled(breakdown, "hidden", "pck@0.1", "keypoints"),
        "L/R swapped": pooled(breakdown, "left_right", "swapped", "pairs"),
    }


def fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", type=Path)
    p.add_argument("--split", default="test")
    args = p.parse_args(argv)
    folders = sorted(f.parent for f in args.runs.rglob("eval.json") if (f.parent / "per_keypoint.json").is_file())
    if not folders:
        print(f"error: no eval.json + per_keypoint.json under {args.runs}", file=sys.stderr)
        return 2
    print(f"split: {args.split}\n")
    print("| run | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    groups: dict[str, list[dict]] = {}
    for folder in folders:
        r = row(folder, args.split)
        if r is None:
            continue
        name = folder.relative_to(args.runs).as_posix()
        group = "/".join(part for part in name.split("/") if not re.fullmatch(r"seed\d+", part))
        groups.setdefault(group, []).append(r)
        print(f"| {name} | " + " | ".join(fmt(r[c], 1 if "px" in c else 3) for c in COLUMNS) + " |")
    for group, rows in groups.items():
        cells = []
        for c in COLUMNS:
            values = [r[c] for r in rows if r[c] is not None]
            digits = 1 if "px" in c else 3
            cells.append(
                f"{fmt(sum(values) / len(values), digits)} ± {fmt(max(values) - min(values), digits)}"
                if values
                else "—"
            )
        print(f"| **{group}: mean ± spread ({len(rows)})** | " + " | ".join(cells) + " |")
    for line in overlaps({g: [r["AP"] for r in rows if r["AP"] is not None] for g, rows in groups.items()}):
        print(line)
    return 0


def overlaps(aps: dict[str, list[float]]) -> list[str]:
    """Pairs of groups whose keypoint AP ranges over their seeds overlap: their order is seed noise."""
    ranged = {g: (min(v), max(v)) for g, v in aps.items() if len(v) >= 2}
    names = sorted(ranged)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            (lo_a, hi_a), (lo_b, hi_b) = ranged[a], ranged[b]
            if lo_a <= hi_b and lo_b <= hi_a:
                out.append(
                    f"\nnote: {a} ({lo_a:.3f}-{hi_a:.3f}) and {b} ({lo_b:.3f}-{hi_b:.3f}) overlap across their "
                    "seeds: which one is better is not settled by these runs"
                )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
