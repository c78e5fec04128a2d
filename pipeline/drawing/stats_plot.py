"""The stats sheet of `rig2kp inspect`: `pipeline/coco_files/stats.py` numbers drawn with matplotlib.

Four panels: visibility per category and keypoint, instances per image, instance sizes (with
COCO's small / medium / large cut-offs), labelled keypoints per instance; the `checks` that are
not 0 are written under them in red.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from common.atomic import replacing
from pipeline.coco_files.stats import COCO_LARGE, COCO_SMALL

VISIBILITY = (("v2", "#2ca02c", "v=2 seen"), ("v1", "#ff7f0e", "v=1 hidden"), ("v0", "#b0b0b0", "v=0 outside"))


def plot_stats(stats: dict, sizes: list[float], out_png: Path, title: str) -> None:
    """Write the stats sheet of `stats` (`dataset_stats`) and the instance sizes (`box_sizes`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cats = stats["categories"]
    rows = [(f"{c}: {k}" if len(cats) > 1 else k, v) for c, e in cats.items() for k, v in e["visibility"].items()]
    fig_h = max(9.0, 5.0 + 0.22 * len(rows))
    fig, axes = plt.subplots(2, 2, figsize=(14, fig_h), gridspec_kw={"height_ratios": [max(1, len(rows) / 10), 1]})
    fig.suptitle(f"{title}\n{stats['images']} images, {stats['instances']} instances", fontsize=13)
    _visibility(axes[0, 0], rows)
    _instances_per_image(axes[0, 1], stats["instances_per_image"])
    _sizes(axes[1, 0], stats["box_size"], sizes)
    _keypoints_per_instance(axes[1, 1], cats)
    bad = {k: v for k, v in stats["checks"].items() if v}
    if bad:
        fig.text(0.01, 0.005, "checks: " + ", ".join(f"{k} {v}" for k, v in bad.items()), color="#c00000")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    with replacing(out_png) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def _visibility(ax, rows: list[tuple[str, dict]]) -> None:
    labels = [r[0] for r in rows][::-1]
    left = np.zeros(len(rows))
    for v, color, text in VISIBILITY:
        vals = np.array([r[1][v] or 0.0 for r in rows][::-1])
        ax.barh(labels, vals, left=left, color=color, label=text)
        left += vals
    for i, (_, r) in enumerate(reversed(rows)):
        if r["v2"] is not None:
            text = "  ".join(f"{v} {r[v]:.0%}" for v, _, _ in VISIBILITY if r[v])
            box = {"facecolor": "white", "alpha": 0.7, "linewidth": 0, "pad": 1}
            ax.text(0.01, i, text, va="center", fontsize=8, color="black", bbox=box)
    ax.set_xlim(0, 1)
    ax.set_xlabel("fraction of instances")
    ax.set_title("keypoint visibility per category and keypoint", pad=20)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize=8, frameon=False)


def _instances_per_image(ax, per_image: dict) -> None:
    counts = per_image["counts"]
    ax.bar([int(n) for n in counts], list(counts.values()), color="#1f77b4")
    ax.set_xlabel("instances in the image")
    ax.set_ylabel("images")
    ax.set_title(f"instances per image (mean {per_image['mean'] or 0:.2f})")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.get_major_locator().set_params(integer=True)


def _sizes(ax, box: dict, sizes: list[float]) -> None:
    arr = np.asarray(sizes, dtype=float)
    if arr.size:
        edges = np.histogram_bin_edges(arr, bins=min(30, max(5, int(math.sqrt(arr.size)))))
        ax.stairs(np.histogram(arr, bins=edges)[0], edges, fill=True, color="#9467bd")
    for cut in (COCO_SMALL, COCO_LARGE):
        ax.axvline(cut, color="black", linestyle="--", linewidth=1)
    top = ax.get_ylim()[1]
    for x, text in ((COCO_SMALL / 2, "S"), ((COCO_SMALL + COCO_LARGE) / 2, "M"), (COCO_LARGE * 1.08, "L")):
        ax.text(x, top * 0.95, text, ha="center" if text != "L" else "left", va="top", fontsize=9)
    ax.set_xlim(0, max(ax.get_xlim()[1], COCO_LARGE * 1.25))
    ax.set_xlabel(f"sqrt(area), pixels (dashed: COCO small | medium | large at {COCO_SMALL}, {COCO_LARGE})")
    ax.set_ylabel("instances")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"instance size: small {box['small']}, medium {box['medium']}, large {box['large']}")


def _keypoints_per_instance(ax, cats: dict) -> None:
    width = 0.8 / max(1, len(cats))
    for i, (name, e) in enumerate(cats.items()):
        kpi = e["keypoints_per_instance"]
        ax.bar(np.arange(len(kpi)) + (i - (len(cats) - 1) / 2) * width, list(kpi.values()), width, label=name)
    ax.set_xlabel("keypoints with v > 0 in the instance")
    ax.set_ylabel("instances")
    ax.set_title("labelled keypoints per instance")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if len(cats) > 1:
        ax.legend(fontsize=8)
