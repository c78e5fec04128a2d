"""Dataset counts for `dvc metrics show`: per source, per category, keypoint visibility rates.

Every stage writes `stats.json` next to its output; the mix stage writes one entry per split.
Numbers only (nested dicts), so `dvc metrics show/diff` lists them all.
"""

from __future__ import annotations

from collections import Counter


def dataset_stats(data: dict) -> dict:
    """Images, instances, negatives (images without instances), per source and per category.

    `visibility` gives, per keypoint name, the fraction of instances with v = 0, 1, 2.
    """
    per_image = Counter(a["image_id"] for a in data["annotations"])
    source_of = {img["id"]: img.get("source", "unknown") for img in data["images"]}
    sources: dict[str, dict] = {}
    for img in data["images"]:
        s = sources.setdefault(source_of[img["id"]], {"images": 0, "instances": 0, "negatives": 0})
        s["images"] += 1
        s["instances"] += per_image.get(img["id"], 0)
        s["negatives"] += per_image.get(img["id"], 0) == 0
    categories = {}
    for cat in data["categories"]:
        anns = [a for a in data["annotations"] if a["category_id"] == cat["id"]]
        n = max(len(anns), 1)
        vis = {}
        for k, name in enumerate(cat.get("keypoints", [])):
            vs = Counter(int(a["keypoints"][3 * k + 2]) for a in anns)
            vis[name] = {f"v{v}": round(vs.get(v, 0) / n, 4) for v in (0, 1, 2)}
        categories[cat["name"]] = {"instances": len(anns), "visibility": vis}
    return {
        "images": len(data["images"]),
        "instances": len(data["annotations"]),
        "negatives": sum(1 for img in data["images"] if per_image.get(img["id"], 0) == 0),
        "sources": sources,
        "categories": categories,
    }


def layout_stats(metas: list[dict]) -> dict:
    """Physics and view-constraint figures from meta files: frames each drop took to settle, drops
    drawn again, views tried. Empty (stats.json unchanged) when neither feature ran."""
    out = {}
    drops = [m["drop"] for m in metas if "drop" in m]
    if drops:
        steps = [d["steps"] for d in drops]
        out["drop"] = {
            "images": len(drops),
            "steps_mean": round(sum(steps) / len(steps), 2),
            "steps_max": max(steps),
            "redrawn_images": sum(d["attempts"] > 1 for d in drops),
        }
    seen = [m["view"] for m in metas if "view" in m]
    if seen:
        attempts = [v["attempts"] for v in seen]
        out["views"] = {
            "images": len(seen),
            "attempts_mean": round(sum(attempts) / len(attempts), 2),
            "attempts_max": max(attempts),
            "resampled_images": sum(a > 1 for a in attempts),
            "unmet_images": sum(not v["met"] for v in seen),
        }
    return out
