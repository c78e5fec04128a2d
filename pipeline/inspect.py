"""Look at a COCO keypoint dataset: annotated overlays, a contact sheet and a stats sheet.

    python -m pipeline.inspect PATH [--out DIR] [--num 16] [--seed 0] [--ids 3,7] [--no-labels]

PATH is a COCO keypoint JSON file or a dataset folder holding `annotations.json` (any stage's
output or a real export; `file_name` is relative to the JSON's folder). Writes into --out
(default `inspect/<json folder name>/`, or `inspect/<folder>-<stem>/` for a JSON not named annotations.json):
`overlays/<image id>.png` (`.jpg` for JPEG photos), `overlays.png` (contact sheet),
`stats.png` and `stats.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from blender.atomic import write_json
from pipeline.coco import DatasetError, resolve_json
from pipeline.draw import contact_sheet, draw_annotations
from pipeline.outputs import OutputOverlapError, refuse_overlap

COCO_SMALL, COCO_LARGE = 32, 96  # sqrt(area) cut-offs of COCO's small / medium / large, pixels


# ---------------------------------------------------------------- loading and validation


def load_coco(json_path: Path) -> dict:
    """Read and check a COCO keypoint file; every problem is reported before any work."""
    try:
        coco = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{json_path}: not a readable JSON file: {exc}") from None
    problems = validate_coco(coco)
    if problems:
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DatasetError(
            f"{json_path}: {len(problems)} problem(s) in COCO data\n  "
            + "\n  ".join(problems[:20])
            + more
        )
    return coco


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_coco(coco) -> list[str]:
    """Problems found in a parsed COCO keypoint dict, each naming its key; [] when usable."""
    if not isinstance(coco, dict):
        return [f"expected a JSON object at the top level, got {type(coco).__name__}"]
    problems = [
        f"'{key}': expected a list"
        for key in ("images", "annotations", "categories")
        if not isinstance(coco.get(key), list)
    ]
    if problems:
        return problems
    num_kps: dict[int, int] = {}
    for i, cat in enumerate(coco["categories"]):
        where = f"categories[{i}]"
        if (
            not isinstance(cat, dict)
            or not _is_int(cat.get("id"))
            or not isinstance(cat.get("name"), str)
        ):
            problems.append(f"{where}: expected an object with int 'id' and str 'name'")
            continue
        names = cat.get("keypoints", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problems.append(f"{where}.keypoints: expected a list of names")
            continue
        if len(set(names)) != len(names):
            problems.append(f"{where}.keypoints: names repeat: {names}")
        num_kps[cat["id"]] = len(names)
        for j, pair in enumerate(cat.get("skeleton") or []):
            if not (
                isinstance(pair, list)
                and len(pair) == 2
                and all(_is_int(p) and 1 <= p <= len(names) for p in pair)
            ):
                problems.append(
                    f"{where}.skeleton[{j}]: expected a pair of 1-based keypoint "
                    f"indices in 1..{len(names)}, got {pair!r}"
                )
    image_ids = set()
    for i, img in enumerate(coco["images"]):
        where = f"images[{i}]"
        if not isinstance(img, dict) or not _is_int(img.get("id")):
            problems.append(f"{where}.id: expected an int")
            continue
        if img["id"] in image_ids:
            problems.append(f"{where}.id: {img['id']} appears more than once")
        image_ids.add(img["id"])
        if not isinstance(img.get("file_name"), str) or not img.get("file_name"):
            problems.append(f"{where}.file_name: expected a relative path")
        for key in ("width", "height"):
            if not _is_int(img.get(key)) or img[key] <= 0:
                problems.append(f"{where}.{key}: expected a positive int, got {img.get(key)!r}")
    for i, ann in enumerate(coco["annotations"]):
        where = f"annotations[{i}]"
        if not isinstance(ann, dict):
            problems.append(f"{where}: expected an object")
            continue
        where += f" (id {ann.get('id')})"
        if ann.get("image_id") not in image_ids:
            problems.append(f"{where}.image_id: {ann.get('image_id')!r} is not an images[].id")
        if ann.get("category_id") not in num_kps:
            problems.append(
                f"{where}.category_id: {ann.get('category_id')!r} is not a categories[].id"
            )
            continue
        k = num_kps[ann["category_id"]]
        kps = ann.get("keypoints", [] if k == 0 else None)
        if (
            not isinstance(kps, list)
            or len(kps) != 3 * k
            or not all(isinstance(v, int | float) for v in kps)
        ):
            got = f"{len(kps)} values" if isinstance(kps, list) else repr(kps)
            problems.append(f"{where}.keypoints: expected 3 x {k} numbers [x, y, v], got {got}")
        bbox = ann.get("bbox")
        if bbox is not None and not (isinstance(bbox, list) and len(bbox) == 4):
            problems.append(f"{where}.bbox: expected [x, y, w, h], got {bbox!r}")
    return problems


# ---------------------------------------------------------------- statistics


def _category_keys(categories: list[dict]) -> dict[int, str]:
    """Category id -> stats key: the name, or `name#id` where names repeat."""
    counts = Counter(c["name"] for c in categories)
    return {
        c["id"]: c["name"] if counts[c["name"]] == 1 else f"{c['name']}#{c['id']}"
        for c in categories
    }


def _size(ann: dict) -> float | None:
    """sqrt(area) in pixels; `area` field (what COCOeval uses), else bbox w*h, else None."""
    if "area" in ann:
        return math.sqrt(max(0.0, float(ann["area"])))
    if ann.get("bbox"):
        return math.sqrt(max(0.0, float(ann["bbox"][2]) * float(ann["bbox"][3])))
    return None


def compute_stats(coco: dict) -> dict:
    """Counts, visibility rates and sizes of a validated COCO keypoint dict (JSON-ready).

    Visibility rates are per category and keypoint over that category's instances; box size is
    sqrt(area) in pixels with COCO's small (< 32) / medium (< 96) / large cut-offs; `checks`
    counts departures from docs/reference/DATA_FORMAT.md (0 everywhere in a clean dataset).
    """
    images = {img["id"]: img for img in coco["images"]}
    keys = _category_keys(coco["categories"])
    per_image = Counter(a["image_id"] for a in coco["annotations"])
    inst_hist = Counter(per_image.get(i, 0) for i in images)
    cats: dict[str, dict] = {}
    for cat in coco["categories"]:
        names = cat.get("keypoints", [])
        cats[keys[cat["id"]]] = {
            "id": cat["id"],
            "num_instances": 0,
            "keypoints": {n: {"v0": 0, "v1": 0, "v2": 0} for n in names},
            "keypoints_per_instance": {str(n): 0 for n in range(len(names) + 1)},
        }
    checks = Counter(
        num_keypoints_mismatch=0, keypoints_outside_image=0, v0_with_xy=0, boxes_outside_image=0
    )
    sizes = []
    for ann in coco["annotations"]:
        entry = cats[keys[ann["category_id"]]]
        img = images[ann["image_id"]]
        entry["num_instances"] += 1
        names = list(entry["keypoints"])
        kps = np.asarray(ann.get("keypoints", []), dtype=float).reshape(len(names), 3)
        for name, (x, y, v) in zip(names, kps, strict=True):
            entry["keypoints"][name][f"v{min(2, max(0, int(v)))}"] += 1
            if v > 0 and not (0 <= x <= img["width"] and 0 <= y <= img["height"]):
                checks["keypoints_outside_image"] += 1
            if v == 0 and (x != 0 or y != 0):
                checks["v0_with_xy"] += 1
        visible = int((kps[:, 2] > 0).sum())
        entry["keypoints_per_instance"][str(visible)] += 1
        if "num_keypoints" in ann and ann["num_keypoints"] != visible:
            checks["num_keypoints_mismatch"] += 1
        if ann.get("bbox"):
            x, y, w, h = (float(v) for v in ann["bbox"])
            if x < 0 or y < 0 or x + w > img["width"] + 1e-6 or y + h > img["height"] + 1e-6:
                checks["boxes_outside_image"] += 1
        size = _size(ann)
        if size is not None:
            sizes.append(size)
    for entry in cats.values():
        n = entry["num_instances"]
        for counts in entry["keypoints"].values():
            for v in ("v0", "v1", "v2"):
                counts[f"rate_{v}"] = counts[v] / n if n else None
    return {
        "num_images": len(images),
        "num_annotations": len(coco["annotations"]),
        "num_crowd": sum(1 for a in coco["annotations"] if a.get("iscrowd", 0)),
        "sources": dict(
            sorted(Counter(str(img.get("source", "unknown")) for img in images.values()).items())
        ),
        "instances_per_image": {
            "counts": {str(n): inst_hist[n] for n in range(max(inst_hist, default=0) + 1)},
            "mean": len(coco["annotations"]) / len(images) if images else None,
            "max": max(inst_hist, default=0),
        },
        "categories": cats,
        "box_size": _size_stats(sizes),
        "checks": dict(checks),
    }


def _size_stats(sizes: list[float]) -> dict:
    arr = np.asarray(sizes, dtype=float)
    edges = (
        np.histogram_bin_edges(arr, bins=min(30, max(5, int(math.sqrt(arr.size)))))
        if arr.size
        else []
    )
    counts = np.histogram(arr, bins=edges)[0] if arr.size else []
    return {
        "measure": "sqrt(area) in pixels",
        "cutoffs": [COCO_SMALL, COCO_LARGE],
        "small": int((arr < COCO_SMALL).sum()),
        "medium": int(((arr >= COCO_SMALL) & (arr < COCO_LARGE)).sum()),
        "large": int((arr >= COCO_LARGE).sum()),
        "min": float(arr.min()) if arr.size else None,
        "median": float(np.median(arr)) if arr.size else None,
        "mean": float(arr.mean()) if arr.size else None,
        "max": float(arr.max()) if arr.size else None,
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def plot_stats(stats: dict, out_png: Path, title: str) -> None:
    """Write the stats sheet: visibility per keypoint, instances per image, sizes, kps/instance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cats = stats["categories"]
    multi = len(cats) > 1
    rows = [
        (f"{c}: {k}" if multi else k, v) for c, e in cats.items() for k, v in e["keypoints"].items()
    ]
    fig_h = max(9.0, 5.0 + 0.22 * len(rows))
    fig, axes = plt.subplots(
        2, 2, figsize=(14, fig_h), gridspec_kw={"height_ratios": [max(1, len(rows) / 10), 1]}
    )
    fig.suptitle(
        f"{title}\n{stats['num_images']} images, {stats['num_annotations']} instances", fontsize=13
    )

    ax = axes[0, 0]
    labels = [r[0] for r in rows][::-1]
    left = np.zeros(len(rows))
    for v, color, text in (
        ("v2", "#2ca02c", "v=2 seen"),
        ("v1", "#ff7f0e", "v=1 hidden"),
        ("v0", "#b0b0b0", "v=0 outside"),
    ):
        vals = np.array([r[1][f"rate_{v}"] or 0.0 for r in rows][::-1])
        ax.barh(labels, vals, left=left, color=color, label=text)
        left += vals
    for i, (_, r) in enumerate(reversed(rows)):
        if r["rate_v2"] is not None:
            text = "  ".join(f"v{v[1]} {r[f'rate_{v}']:.0%}" for v in ("v2", "v1", "v0") if r[v])
            ax.text(
                0.01,
                i,
                text,
                va="center",
                fontsize=8,
                color="black",
                bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0, "pad": 1},
            )
    ax.set_xlim(0, 1)
    ax.set_xlabel("fraction of instances")
    ax.set_title("keypoint visibility per category and keypoint", pad=20)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize=8, frameon=False)

    ax = axes[0, 1]
    counts = stats["instances_per_image"]["counts"]
    ax.bar([int(n) for n in counts], list(counts.values()), color="#1f77b4")
    ax.set_xlabel("instances in the image")
    ax.set_ylabel("images")
    ax.set_title(f"instances per image (mean {stats['instances_per_image']['mean'] or 0:.2f})")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.get_major_locator().set_params(integer=True)

    ax = axes[1, 0]
    box = stats["box_size"]
    edges, hist = box["histogram"]["edges"], box["histogram"]["counts"]
    if hist:
        ax.stairs(hist, edges, fill=True, color="#9467bd")
    for cut in box["cutoffs"]:
        ax.axvline(cut, color="black", linestyle="--", linewidth=1)
    top = ax.get_ylim()[1]
    for x, text in (
        (COCO_SMALL / 2, "S"),
        ((COCO_SMALL + COCO_LARGE) / 2, "M"),
        (COCO_LARGE * 1.08, "L"),
    ):
        ax.text(x, top * 0.95, text, ha="center" if text != "L" else "left", va="top", fontsize=9)
    ax.set_xlim(0, max(ax.get_xlim()[1], COCO_LARGE * 1.25))
    ax.set_xlabel("sqrt(area), pixels (dashed: COCO small | medium | large at 32, 96)")
    ax.set_ylabel("instances")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(
        f"instance size: small {box['small']}, medium {box['medium']}, large {box['large']}"
    )

    ax = axes[1, 1]
    width = 0.8 / max(1, len(cats))
    for i, (name, e) in enumerate(cats.items()):
        kpi = e["keypoints_per_instance"]
        ax.bar(
            np.arange(len(kpi)) + (i - (len(cats) - 1) / 2) * width,
            list(kpi.values()),
            width,
            label=name,
        )
    ax.set_xlabel("keypoints with v > 0 in the instance")
    ax.set_ylabel("instances")
    ax.set_title("labelled keypoints per instance")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if multi:
        ax.legend(fontsize=8)
    bad = {k: v for k, v in stats["checks"].items() if v}
    if bad:
        fig.text(
            0.01, 0.005, "checks: " + ", ".join(f"{k} {v}" for k, v in bad.items()), color="#c00000"
        )
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


# ---------------------------------------------------------------- overlays and CLI


def select_images(coco: dict, num: int, seed: int, ids: list[int] | None) -> list[dict]:
    """The images to overlay: those with `ids` in that order, else a seeded sample of `num`."""
    by_id = {img["id"]: img for img in coco["images"]}
    if ids:
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise DatasetError(f"--ids: image id(s) {missing} not in images[].id")
        return [by_id[i] for i in ids]
    order = sorted(by_id)
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(order), size=min(num, len(order)), replace=False) if order else []
    return [by_id[order[i]] for i in sorted(picked)]


def default_out(json_path: Path) -> Path:
    """`inspect/<folder>[-<stem>]` in the working directory: never inside a DVC stage's output."""
    name = json_path.resolve().parent.name or "dataset"
    return Path("inspect") / (name if json_path.name == "annotations.json" else f"{name}-{json_path.stem}")


def _parse_ids(text: str) -> list[int]:
    try:
        return [int(t) for t in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected image ids like 3,7,12, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.inspect", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "path", type=Path, help="COCO keypoint JSON, or a folder with annotations.json"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="output folder (default: inspect/<json folder name>/, or inspect/<folder>-<stem>/ for X.json)",
    )
    parser.add_argument("--num", type=int, default=16, help="images to overlay (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the image sample")
    parser.add_argument("--ids", type=_parse_ids, help="image ids to overlay instead, e.g. 3,7,12")
    parser.add_argument("--no-labels", action="store_true", help="do not write keypoint names")
    parser.add_argument("--no-masks", action="store_true", help="do not outline segmentation masks")
    parser.add_argument("--thumb", type=int, default=400, help="contact sheet thumbnail size, px")
    parser.add_argument("--columns", type=int, default=4, help="contact sheet columns")
    parser.add_argument("--max-side", type=int, help="shrink overlays to this longer side, px")
    args = parser.parse_args(argv)
    if args.num < 0 or args.thumb < 16 or args.columns < 1:
        parser.error("--num must be >= 0, --thumb >= 16 and --columns >= 1")
    try:
        json_path = resolve_json(args.path)
        coco = load_coco(json_path)
        chosen = select_images(coco, args.num, args.seed, args.ids)
        root = json_path.parent
        missing = [img["file_name"] for img in chosen if not (root / img["file_name"]).is_file()]
        if missing:
            raise DatasetError(
                f"{json_path}: images[].file_name not found under {root}: "
                + ", ".join(missing[:5])
                + (" ..." if len(missing) > 5 else "")
            )
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out or default_out(json_path)
    try:
        refuse_overlap(out, {"dataset folder": json_path.parent})
    except OutputOverlapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    (out / "overlays").mkdir(parents=True, exist_ok=True)
    for old in (out / "overlays").glob("*"):  # rewrite the output completely, never append
        if old.suffix in (".png", ".jpg") and old.is_file():
            old.unlink()

    stats = compute_stats(coco)
    write_json(out / "stats.json", stats, indent=2)
    plot_stats(stats, out / "stats.png", str(json_path))

    anns_by_image: dict[int, list[dict]] = {}
    for ann in coco["annotations"]:
        anns_by_image.setdefault(ann["image_id"], []).append(ann)
    draw_opts = {"labels": not args.no_labels, "masks": not args.no_masks}
    thumbs, captions = [], []
    for img in tqdm(chosen, desc="overlays", unit="img"):
        with Image.open(root / img["file_name"]) as im:
            pixels = im.convert("RGB")
        anns = anns_by_image.get(img["id"], [])
        note = ""
        if pixels.size != (img["width"], img["height"]):
            note = f" SIZE {pixels.width}x{pixels.height}!"
            tqdm.write(
                f"warning: {img['file_name']}: file is {pixels.width}x{pixels.height}, "
                f"images[].width/height say {img['width']}x{img['height']}"
            )
        side = min(args.max_side, max(pixels.size)) if args.max_side else None
        overlay = draw_annotations(pixels, anns, coco["categories"], side=side, **draw_opts)
        # JPEG photos give JPEG overlays (a lossless copy of a lossy photo is 10x bigger)
        if Path(img["file_name"]).suffix.lower() in (".jpg", ".jpeg"):
            overlay.save(out / "overlays" / f"{img['id']:06d}.jpg", quality=92)
        else:
            overlay.save(out / "overlays" / f"{img['id']:06d}.png", compress_level=1)
        thumbs.append(
            draw_annotations(pixels, anns, coco["categories"], side=args.thumb, **draw_opts)
        )
        captions.append(f"#{img['id']} {Path(img['file_name']).name} ({len(anns)} inst){note}")
    (out / "overlays.png").unlink(missing_ok=True)
    if thumbs:
        contact_sheet(thumbs, args.columns, captions, thumb=args.thumb).save(out / "overlays.png")
    box = stats["box_size"]
    print(
        f"{json_path}: {stats['num_images']} images, {stats['num_annotations']} instances, "
        f"size small/medium/large {box['small']}/{box['medium']}/{box['large']}"
    )
    for name, entry in stats["categories"].items():
        rates = ", ".join(
            f"{k} {v['rate_v2']:.0%}"
            for k, v in entry["keypoints"].items()
            if v["rate_v2"] is not None
        )
        print(f"  {name}: {entry['num_instances']} instances; seen (v=2): {rates or '-'}")
    bad = {k: v for k, v in stats["checks"].items() if v}
    if bad:
        print("  checks: " + ", ".join(f"{k} {v}" for k, v in bad.items()))
    print(f"wrote {len(thumbs)} overlays, overlays.png, stats.png, stats.json to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
