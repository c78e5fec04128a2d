"""Dataset stats: one vocabulary for every stage's `stats.json` and for `rig2kp inspect`.

Numbers only (nested dicts), so `dvc metrics show/diff` lists them all when named, e.g.
`dvc metrics show data/mixed/stats.json` (dvc.yaml declares only the evaluation's headline as
metrics; the mix stage writes one entry per split):

- `images`, `instances` (annotations), `negatives` (images without instances), `crowd`
  (annotations with `iscrowd` 1);
- `sources.<source>`: `images`, `instances`, `negatives` of the images with that `source`
  (`synthetic`, `real`, `unknown`);
- `instances_per_image`: `counts` (`"n"`: images holding n instances, n = 0..max), `mean`, `max`;
- `categories.<name>` (`name#id` where names repeat): `id`, `instances`, `visibility.<keypoint>`
  (`v0`, `v1`, `v2`: the fraction of the category's instances with that flag; null without
  instances) and `keypoints_per_instance` (`"n"`: instances with n keypoints of v > 0);
- `box_size`: `sqrt(area)` in pixels (the `area` field, which COCOeval uses; box w * h when it is
  missing): `small` (< 32), `medium` (< 96) and `large` counts, as COCO cuts them, and `min`,
  `median`, `mean`, `max`;
- `checks`: departures from the format (docs/reference/DATA_FORMAT.md), 0 in a clean dataset:
  `num_keypoints_mismatch`, `keypoints_outside_image` and `v0_with_xy` (keypoints),
  `boxes_outside_image` (annotations), as `pipeline/coco_files/coco_checks.py` finds them.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from pipeline.coco_files import coco_checks, coco_needs

COCO_SMALL, COCO_LARGE = 32, 96  # sqrt(area) cut-offs of COCO's small / medium / large, pixels


def dataset_stats(data: dict) -> dict:
    """The stats of a COCO keypoint dict that passed the checks every reader needs (JSON-ready)."""
    images, anns = data["images"], data["annotations"]
    per_image = Counter(a["image_id"] for a in anns)
    sources: dict[str, dict] = {}
    for img in images:
        n = per_image.get(img["id"], 0)
        s = sources.setdefault(str(img.get("source", "unknown")), {"images": 0, "instances": 0, "negatives": 0})
        s["images"] += 1
        s["instances"] += n
        s["negatives"] += n == 0
    hist = Counter(per_image.get(img["id"], 0) for img in images)
    found = Counter(p.check for p in coco_checks.check(data, coco_needs.COUNT))
    return {
        "images": len(images),
        "instances": len(anns),
        "negatives": hist[0],
        "crowd": sum(1 for a in anns if a.get("iscrowd", 0)),
        "sources": dict(sorted(sources.items())),
        "instances_per_image": {
            "counts": {str(n): hist[n] for n in range(max(hist, default=0) + 1)},
            "mean": len(anns) / len(images) if images else None,
            "max": max(hist, default=0),
        },
        "categories": _categories(data),
        "box_size": _size_stats(box_sizes(data)),
        "checks": {name: found[name] for name in coco_needs.COUNTED},
    }


def category_keys(categories: list[dict]) -> dict[int, str]:
    """Category id -> stats key: the name, or `name#id` where names repeat."""
    counts = Counter(c["name"] for c in categories)
    return {c["id"]: c["name"] if counts[c["name"]] == 1 else f"{c['name']}#{c['id']}" for c in categories}


def _categories(data: dict) -> dict[str, dict]:
    keys = category_keys(data["categories"])
    flags: dict[int, list[np.ndarray]] = {c["id"]: [] for c in data["categories"]}
    for a in data["annotations"]:
        flags[a["category_id"]].append(np.asarray(a.get("keypoints", []), float).reshape(-1, 3)[:, 2])
    out = {}
    for cat in data["categories"]:
        names = cat.get("keypoints", [])
        n = len(flags[cat["id"]])
        v = np.clip(np.asarray(flags[cat["id"]], float).reshape(n, len(names)), 0, 2).round()
        visibility = {
            name: {f"v{f}": float((v[:, k] == f).sum() / n) if n else None for f in (0, 1, 2)}
            for k, name in enumerate(names)
        }
        labelled = Counter(int(c) for c in (v > 0).sum(axis=1))
        out[keys[cat["id"]]] = {
            "id": cat["id"],
            "instances": n,
            "visibility": visibility,
            "keypoints_per_instance": {str(k): labelled[k] for k in range(len(names) + 1)},
        }
    return out


def box_sizes(data: dict) -> list[float]:
    """sqrt(area) in pixels of each annotation with an `area` (else a `bbox`): COCO's size measure."""
    sizes = []
    for a in data["annotations"]:
        if "area" in a:
            sizes.append(math.sqrt(max(0.0, float(a["area"]))))
        elif a.get("bbox"):
            sizes.append(math.sqrt(max(0.0, float(a["bbox"][2]) * float(a["bbox"][3]))))
    return sizes


def _size_stats(sizes: list[float]) -> dict:
    arr = np.asarray(sizes, dtype=float)
    return {
        "small": int((arr < COCO_SMALL).sum()),
        "medium": int(((arr >= COCO_SMALL) & (arr < COCO_LARGE)).sum()),
        "large": int((arr >= COCO_LARGE).sum()),
        "min": float(arr.min()) if arr.size else None,
        "median": float(np.median(arr)) if arr.size else None,
        "mean": float(arr.mean()) if arr.size else None,
        "max": float(arr.max()) if arr.size else None,
    }


def _spread(name: str, values: list[int]) -> dict:
    """Images, mean and largest of one per-image count (the keys stats.json has always had)."""
    return {"images": len(values), f"{name}_mean": round(sum(values) / len(values), 2), f"{name}_max": max(values)}


def layout_stats(metas: list[dict]) -> dict:
    """Physics and view-constraint figures from meta files: frames each drop took to settle, drops
    drawn again, views tried. Empty (stats.json unchanged) when neither feature ran."""
    out = {}
    drops = [m["drop"] for m in metas if "drop" in m]
    if drops:
        out["drop"] = _spread("steps", [d["steps"] for d in drops]) | {
            "redrawn_images": sum(d["attempts"] > 1 for d in drops),
        }
    seen = [m["view"] for m in metas if "view" in m]
    if seen:
        attempts = [v["attempts"] for v in seen]
        out["views"] = _spread("attempts", attempts) | {
            "resampled_images": sum(a > 1 for a in attempts),
            "unmet_images": sum(not v["met"] for v in seen),
        }
    return out
