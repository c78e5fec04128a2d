"""Check a COCO keypoint file and its images against docs/reference/DATA_FORMAT.md.

    python -m pipeline.validate PATH [--no-images]

PATH is a COCO JSON file or a dataset folder (its `annotations.json`, or the mix stage's
`train/val/test/val_synthetic.json`). Prints every problem with the id it concerns; errors
break training or evaluation, warnings break our conventions. Exits 1 when there are errors.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from pipeline import coco
from pipeline.errors import run_command

SPLITS = ("train.json", "val.json", "test.json", "val_synthetic.json")
BOX_TOL = 1.0  # pixels: bbox against the mask's box, and outside the image


@dataclass(frozen=True)
class Problem:
    level: str  # "error" or "warning"
    where: str  # e.g. "annotation 1003", "image 12", "category 1"
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_categories(cats: list[dict]) -> tuple[list[Problem], dict[int, dict]]:
    out, by_id = [], {}
    for cat in cats:
        where = f"category {cat.get('id')}"
        err = lambda m, w=where: out.append(Problem("error", w, m))  # noqa: E731
        if not isinstance(cat.get("id"), int) or cat.get("id") in by_id:
            err("id: expected a unique integer")
            continue
        by_id[cat["id"]] = cat
        names = cat.get("keypoints")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            err("keypoints: expected a non-empty list of names")
            continue
        if len(set(names)) != len(names):
            err(f"keypoints: names repeat: {names}")
        for pair in cat.get("skeleton", []):
            if not (
                isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(i, int) and 1 <= i <= len(names) for i in pair)
            ):
                err(f"skeleton: {pair}: expected a pair of 1-based keypoint indices <= {len(names)}")
        rig = cat.get("rig")
        if rig is None:
            out.append(Problem("warning", where, "no `rig` key (sigmas, flip pairs): defaults will be used"))
            continue
        for key, least in (("sigmas", 1e-12), ("tolerances", 0.0)):
            vals = rig.get(key)
            if vals is not None and not (
                isinstance(vals, list) and len(vals) == len(names) and all(_num(v) and v >= least for v in vals)
            ):
                err(f"rig.{key}: expected {len(names)} numbers >= {least:g}, got {vals}")
        for pair in rig.get("flip_pairs", []):
            if len(pair) != 2 or any(n not in names for n in pair):
                err(f"rig.flip_pairs: {pair}: expected two of {names}")
    return out, by_id


def check_image(img: dict, root: Path | None) -> list[Problem]:
    where = f"image {img.get('id')}"
    out = []
    w, h, name = img.get("width"), img.get("height"), img.get("file_name")
    if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
        out.append(Problem("error", where, f"width, height: expected positive integers, got {w}, {h}"))
    if not isinstance(name, str) or not name:
        return out + [Problem("error", where, "file_name: expected a path")]
    if Path(name).is_absolute() or ".." in Path(name).parts:
        out.append(Problem("error", where, f"file_name {name!r}: expected a path inside the dataset folder"))
    if img.get("source") not in ("synthetic", "real"):
        out.append(
            Problem(
                "warning",
                where,
                f"source: expected 'synthetic' or 'real', got {img.get('source')!r}",
            )
        )
    if isinstance(img.get("id"), int) and img["id"] < 1:
        out.append(Problem("warning", where, "id: our format numbers images from 1"))
    if root is None:
        return out
    path = root / name
    try:
        with Image.open(path) as im:
            size, orientation = im.size, im.getexif().get(0x0112, 1)
    except FileNotFoundError:
        return out + [Problem("error", where, f"file {path} not found")]
    except OSError as exc:
        return out + [Problem("error", where, f"file {path} is not a readable image: {exc}")]
    if size != (w, h):
        hint = (
            " (its EXIF orientation rotates it; save it upright, e.g. PIL.ImageOps.exif_transpose)"
            if orientation in (5, 6, 7, 8) and size == (h, w)
            else ""
        )
        out.append(Problem("error", where, f"file is {size[0]}x{size[1]}, annotation says {w}x{h}{hint}"))
    return out


def check_annotation(a: dict, img: dict | None, cat: dict | None) -> list[Problem]:
    where = f"annotation {a.get('id')}"
    out = []
    err = lambda m: out.append(Problem("error", where, m))  # noqa: E731
    warn = lambda m: out.append(Problem("warning", where, m))  # noqa: E731
    if img is None:
        err(f"image_id {a.get('image_id')}: no such image")
    if cat is None:
        err(f"category_id {a.get('category_id')}: no such category")
    if img is None or cat is None:
        return out
    w, h, names = img.get("width", 0), img.get("height", 0), cat["keypoints"]
    kps = a.get("keypoints")
    if not isinstance(kps, list) or len(kps) != 3 * len(names) or not all(_num(v) for v in kps):
        err(f"keypoints: expected {3 * len(names)} numbers (x, y, v for {names})")
        kps = None
    else:
        for k, name in enumerate(names):
            x, y, v = kps[3 * k : 3 * k + 3]
            if v not in (0, 1, 2):
                err(f"keypoint {name}: v={v}, expected 0, 1 or 2")
            elif v == 0 and (x != 0 or y != 0):
                warn(f"keypoint {name}: v=0 but (x, y) = ({x}, {y}); expected (0, 0)")
            elif v > 0 and not (0 <= x <= w and 0 <= y <= h):
                err(f"keypoint {name}: v={v} but ({x}, {y}) is outside the {w}x{h} image")
        if a.get("num_keypoints") != coco.num_visible(kps):
            err(f"num_keypoints: {a.get('num_keypoints')}, but {coco.num_visible(kps)} keypoints have v > 0")
    if a.get("iscrowd", None) not in (0, 1):
        (warn if "iscrowd" not in a else err)(f"iscrowd: expected 0 or 1, got {a.get('iscrowd')!r}")
    bbox = a.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_num(v) for v in bbox) and bbox[2] > 0 and bbox[3] > 0):
        err(f"bbox: expected [x, y, w, h] with w, h > 0, got {bbox}")
        bbox = None
    elif bbox[0] < -BOX_TOL or bbox[1] < -BOX_TOL or bbox[0] + bbox[2] > w + BOX_TOL or bbox[1] + bbox[3] > h + BOX_TOL:
        err(f"bbox {bbox} reaches outside the {w}x{h} image")
    area = a.get("area")
    if not (_num(area) and area > 0):
        err(f"area: expected a positive number (OKS divides by it), got {area}")
        area = None
    seg = a.get("segmentation")
    if seg in (None, [], {}):
        return out
    try:
        rle = coco.to_rle(seg, h, w)
    except (ValueError, TypeError, KeyError) as exc:
        return out + [Problem("error", where, f"segmentation: cannot decode: {exc}")]
    if list(rle["size"]) != [h, w]:
        return out + [Problem("error", where, f"segmentation size {rle['size']}, image is [{h}, {w}]")]
    mbox, marea = coco.rle_bbox_area(rle)
    if (
        bbox is not None
        and marea > 0
        and not np.allclose(
            [bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]],
            [mbox[0], mbox[1], mbox[0] + mbox[2], mbox[1] + mbox[3]],
            atol=BOX_TOL,
        )
    ):
        warn(f"bbox {bbox} differs from the mask's box {mbox}")
    if area is not None and not isinstance(seg, list) and abs(area - marea) > max(1.0, 0.01 * marea):
        warn(f"area {area} differs from the mask's {marea} pixels")
    return out


def validate(data: dict, root: Path | None, progress: bool = False) -> list[Problem]:
    """Every problem of one COCO dict; `root` is the folder its file names are relative to
    (None: do not open the images)."""
    problems, cats = check_categories(data["categories"])
    images: dict = {}
    for img in tqdm(data["images"], desc="images", unit="img", disable=not progress):
        if not isinstance(img.get("id"), int) or img.get("id") in images:
            problems.append(Problem("error", f"image {img.get('id')}", "id: expected a unique integer"))
            continue
        images[img["id"]] = img
        problems += check_image(img, root)
    seen: set = set()
    for a in data["annotations"]:
        if not isinstance(a.get("id"), int) or a.get("id") in seen:
            problems.append(Problem("error", f"annotation {a.get('id')}", "id: expected a unique integer"))
        seen.add(a.get("id"))
        problems += check_annotation(a, images.get(a.get("image_id")), cats.get(a.get("category_id")))
    return problems


def files_of(path: Path) -> list[Path]:
    """The COCO files named by PATH: the file, annotations.json, or the mix stage's splits."""
    if path.is_dir() and not (path / coco.ANNOTATIONS).is_file():
        found = [path / s for s in SPLITS if (path / s).is_file()]
        if found:
            return found
    return [coco.resolve_json(path)]


def validate_path(path: str | Path, check_images: bool = True, progress: bool = False) -> list[Problem]:
    """Problems of every file PATH names; ids shared by several files must name the same image."""
    problems, first_seen = [], {}
    for f in files_of(Path(path)):
        data = coco.load_json(f)
        found = validate(data, f.parent if check_images else None, progress)
        problems += [Problem(p.level, f"{f.name}: {p.where}", p.message) for p in found]
        for img in data["images"]:
            prev = first_seen.setdefault(img.get("id"), (f.name, img.get("file_name")))
            if prev[1] != img.get("file_name"):
                problems.append(
                    Problem(
                        "error",
                        f"{f.name}: image {img.get('id')}",
                        f"id also used in {prev[0]} for {prev[1]}",
                    )
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.validate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", type=Path, nargs="?", default=Path("data/synthetic/annotations.json"))
    p.add_argument("--no-images", action="store_true", help="do not open the image files")
    args = p.parse_args(argv)

    def run() -> int:
        problems = validate_path(args.path, not args.no_images, progress=True)
        for prob in problems:
            print(prob)
        errors = sum(p.level == "error" for p in problems)
        print(f"{args.path}: {errors} error(s), {len(problems) - errors} warning(s)")
        return 1 if errors else 0

    return run_command(run)


if __name__ == "__main__":
    raise SystemExit(main())
