"""Real COCO keypoint exports read and mapped onto the rigs, ready for the mix stage's splits.

Exports from CVAT, Label Studio, COCO Annotator, Roboflow or plain COCO are mapped onto the rigs
by category and keypoint *names* (`mix.real[i].categories` / `.keypoints` when they differ:
pipeline/mixing/real_categories.py). Their quirks are repaired and counted (pipeline/mixing/real_annotations.py;
its NOTES say how, for the stage's warnings); what cannot be
repaired (unknown names, missing or unreadable images) comes back as a list of problems, each
naming the file, the key and what was expected, which the stage reports in one error before it
writes anything.

Ids: synthetic images and annotations keep their ids (< 10**12); real ones are
`s * 10**12 + r * 10**10 + n` for source s (1-based, params order), oversampling repeat r
(pipeline/mixing/splits.py) and the n-th image (annotation) of the export in id order. Unique and
stable across the files.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter, defaultdict
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from pipeline.coco_files import coco
from pipeline.mixing.real_annotations import labelled_xy, normalize_annotation, pair_boxes
from pipeline.mixing.real_categories import map_categories
from pipeline.mixing.splits import REPEAT_BASE, Item
from pipeline.schema.mix_params import RealSource

REAL_BASE = 10**12
ROBOFLOW = re.compile(r"^(?P<base>.*?)(_(jpe?g|png|bmp|tiff?|webp))?\.rf\.[0-9a-f]{16,}$", re.IGNORECASE)


def _image_size(path: Path) -> tuple[tuple[int, int] | None, int, str | None]:
    try:
        with Image.open(path) as im:
            return im.size, im.getexif().get(0x0112, 1), None
    except FileNotFoundError:
        return None, 1, "not found"
    except OSError as exc:
        return None, 1, f"not a readable image ({exc})"


def load_real(cfg: RealSource, s: int, base: Path, rigs: list[dict]) -> tuple[list[Item], list[str], Counter]:
    """(items with output ids, problems, counts of repairs) for real source number s (1-based)."""
    label, where = cfg.label(), f"mix.real[{s - 1}]"
    folder = base / cfg.path
    json_path = folder / cfg.annotations
    if not json_path.is_file():
        return [], [f"{where}.annotations: file {json_path} not found"], Counter()
    try:
        data = coco.load_json(json_path)
    except coco.DatasetError as exc:
        return [], [f"{where}: {exc}"], Counter()
    img_dir = folder / cfg.images if cfg.images is not None else json_path.parent
    shape = [
        f"{json_path}: {key}[{i}]: expected an object, got {type(entry).__name__}"
        for key in ("images", "annotations", "categories")
        for i, entry in enumerate(data[key])
        if not isinstance(entry, dict)
    ]
    ints = [("images", "id"), ("annotations", "image_id"), ("annotations", "category_id"), ("categories", "id")]
    shape += [
        f"{json_path}: {key}[{i}].{field}: {entry.get(field)!r}, expected an integer"
        for key, field in ints
        for i, entry in enumerate(data[key])
        if isinstance(entry, dict)
        and not (isinstance(entry.get(field), int) and not isinstance(entry.get(field), bool))
    ]
    if shape:
        return [], shape, Counter()
    mapping, problems = map_categories(data, cfg, rigs, where)
    if problems:
        return [], problems, Counter()
    notes = Counter()
    anns = data["annotations"]
    if cfg.pair_boxes:
        anns, notes["paired"] = pair_boxes(anns)
    offset = cfg.pixel_offset
    if offset == "auto":
        xy = labelled_xy([a for a in anns if a.get("category_id") in mapping])
        offset = 0.5 if xy and all(float(v).is_integer() for v in xy) else 0.0
        if offset:
            notes["offset"] = len(xy) // 2
    by_image = defaultdict(list)
    for rank, a in enumerate(sorted(anns, key=lambda a: (str(type(a.get("id"))), a.get("id"))), start=1):
        by_image[a.get("image_id")].append((rank, a))
    image_ids = [img.get("id") for img in data["images"]]
    for bad in sorted({i for i in image_ids if image_ids.count(i) > 1}, key=str):
        problems.append(f"{json_path}: images: id {bad} is used more than once")
    for iid in set(by_image) - set(image_ids):
        problems.append(f"{json_path}: annotations[id={by_image[iid][0][1].get('id')}]: image_id {iid} is not an image")
    group_re = re.compile(cfg.group_by) if cfg.group_by is not None else None
    patterns = {"val": cfg.val_files, "test": cfg.test_files}
    matched = {(split, p): 0 for split, pats in patterns.items() for p in pats}
    items, names = [], set()
    for rank, img in enumerate(sorted(data["images"], key=lambda i: (str(type(i.get("id"))), i.get("id"))), start=1):
        name = str(img.get("file_name", ""))
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts:
            rel = Path(rel.name)
        src = img_dir / name
        size, orientation, err = _image_size(src)
        if err:
            problems.append(
                f"{json_path}: images[id={img.get('id')}]: file {src} {err}"
                + (f"; set {where}.images to the folder holding the images" if err == "not found" else "")
            )
            continue
        w, h = img.get("width"), img.get("height")
        if any(v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in (w, h)):
            problems.append(
                f"{json_path}: images[id={img.get('id')}]: width, height = {w!r}, {h!r}; expected positive integers"
            )
            continue
        w, h = w or size[0], h or size[1]
        if size != (w, h):
            hint = (
                " (its EXIF orientation rotates it; save the photos upright)"
                if orientation in (5, 6, 7, 8) and size == (h, w)
                else ""
            )
            problems.append(
                f"{json_path}: images[id={img.get('id')}]: file {src} is {size[0]}x{size[1]}, "
                f"the export says {w}x{h}{hint}"
            )
            continue
        out_name = f"images/real/{label}/{rel.as_posix()}"
        if out_name in names:
            problems.append(f"{json_path}: images[id={img.get('id')}]: two images would both be {out_name}")
        names.add(out_name)
        image_id = s * REAL_BASE + rank
        record = {
            "id": image_id,
            "file_name": out_name,
            "width": w,
            "height": h,
            "source": "real",
            "origin": {"source": label, "image_id": img.get("id"), "file_name": name},
        }
        out_anns = []
        for a_rank, a in by_image.get(img.get("id"), []):
            if a.get("category_id") not in mapping:
                continue
            rig, index = mapping[a["category_id"]]
            new, problem = normalize_annotation(a, w, h, rig, index, offset, notes)
            if problem:
                problems.append(f"{json_path}: annotations[id={a.get('id')}]: {problem}")
            elif new is not None:
                out_anns.append({"id": s * REAL_BASE + a_rank, "image_id": image_id, **new})
        notes["negatives"] += not out_anns
        stem = rel.with_suffix("")
        m = ROBOFLOW.match(stem.name)
        key = (stem.with_name(m.group("base")) if m else stem).as_posix()
        if group_re is not None:
            g = group_re.search(name)
            if g is None:
                problems.append(
                    f"{json_path}: images[id={img.get('id')}]: file_name {name!r} does not match "
                    f"{where}.group_by {cfg.group_by!r}; expected every file_name to match"
                )
                continue
            key = g.group(1) if group_re.groups else g.group(0)
        hits = []
        for split, pats in patterns.items():
            found = [p for p in pats if file_matches(name, p)]
            for p in found:
                matched[split, p] += 1
            if found:
                hits.append(split)
        if len(hits) > 1:
            problems.append(
                f"{json_path}: images[id={img.get('id')}]: {name!r} matches both {where}.val_files and .test_files"
            )
        holdout = hits[0] if hits else None
        items.append(Item(record, out_anns, src, f"{label}:{key}", cfg.oversample, holdout))
    for (split, p), n in matched.items():
        if not n:
            problems.append(f"{where}.{split}_files: pattern {p!r} matches no file_name in {json_path}")
    problems += straddling_groups(items, where)
    if len(items) > REPEAT_BASE - 1 or len(anns) > REPEAT_BASE - 1:
        problems.append(f"{json_path}: more than {REPEAT_BASE - 1} images or annotations")
    return items, problems, notes


def file_matches(name: str, pattern: str) -> bool:
    """Glob match like .gitignore: a pattern with '/' matches the whole path, else the file's name."""
    return fnmatch.fnmatchcase(name if "/" in pattern else name.rsplit("/", 1)[-1], pattern)


def straddling_groups(items: list[Item], where: str) -> list[str]:
    """Groups whose images val_files / test_files send to different splits (they would leak)."""
    splits = defaultdict(set)
    for it in items:
        splits[it.key].add(it.holdout)
    return [
        f"{where}: the images of group {key.split(':', 1)[1]!r} go to different splits "
        f"({', '.join(sorted(s or 'auto' for s in found))}); make val_files / test_files name whole groups"
        for key, found in splits.items()
        if len(found) > 1
    ]


def check_readable(items: list[Item], progress: bool) -> list[str]:
    """Decode every real image (JPEG at 1/8 scale: fast, and still reads the whole stream)."""
    problems = []
    for it in tqdm(items, desc="check real images", unit="img", disable=not progress or not items):
        try:
            with Image.open(it.src) as im:
                im.draft("RGB", (max(1, im.width // 8), max(1, im.height // 8)))
                im.load()
        except (OSError, ValueError) as exc:
            problems.append(f"{it.src}: not a readable image ({exc})")
    return problems
