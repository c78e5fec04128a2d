"""Real COCO keypoint exports read and mapped onto the rigs, ready for the mix stage's splits.

Exports from CVAT, Label Studio, COCO Annotator, Roboflow or plain COCO are mapped onto the rigs
by category and keypoint *names* (`mix.real[i].categories` / `.keypoints` when they differ).
Their quirks are repaired and counted (NOTES says how, for the stage's warnings); what cannot be
repaired (unknown names, missing or unreadable images) comes back as a list of problems, each
naming the file, the key and what was expected, which the stage reports in one error before it
writes anything.

Ids: synthetic images and annotations keep their ids (< 10**12); real ones are
`s * 10**12 + r * 10**10 + n` for source s (1-based, params order), oversampling repeat r
(pipeline/splits.py) and the n-th image (annotation) of the export in id order. Unique and
stable across the files.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from blender import symmetry
from pipeline import coco
from pipeline.schema.mix_params import RealSource
from pipeline.splits import REPEAT_BASE, Item

REAL_BASE = 10**12
ROBOFLOW = re.compile(r"^(?P<base>.*?)(_(jpe?g|png|bmp|tiff?|webp))?\.rf\.[0-9a-f]{16,}$", re.IGNORECASE)


def map_categories(data: dict, cfg: RealSource, rigs: list[dict], where: str) -> tuple[dict, list[str]]:
    """Export category id -> (rig category, rig index of each export keypoint or None)."""
    rig_by_name = {c["name"]: c for c in rigs}
    counts = Counter(a.get("category_id") for a in data["annotations"])
    problems, mapping, used_rigs = [], {}, set()
    for rig in cfg.categories.values():
        if rig is not None and rig not in rig_by_name:
            problems.append(f"{where}.categories: {rig!r} is not a rig; expected one of {sorted(rig_by_name)}")
    for name in set(cfg.categories) - {c.get("name") for c in data["categories"]}:
        problems.append(f"{where}.categories: the export has no category {name!r}")
    for cat in data["categories"]:
        name = cat.get("name")
        target = cfg.categories.get(name, name if name in rig_by_name else "")
        if target is None:
            continue
        if target == "":
            if counts.get(cat.get("id"), 0):
                problems.append(
                    f"{where}: category {name!r} ({counts[cat.get('id')]} annotations) is not a rig; "
                    f"map it in categories: {{{name}: RIG}} (one of {sorted(rig_by_name)}) "
                    "or to null to drop it"
                )
            continue  # e.g. Roboflow's unused placeholder category
        rig = rig_by_name[target]
        used_rigs.add(target)
        names = cat.get("keypoints") or []
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            problems.append(f"{where}: category {name!r}: keypoints {names!r}, expected a list of names")
            continue
        kmap = cfg.keypoints.get(target, {})
        for n in set(kmap) - set(names):
            problems.append(
                f"{where}.keypoints.{target}: {n!r} is not a keypoint of category {name!r} (it has {names})"
            )
        index, covered = [], []
        for n in names:
            t = kmap.get(n, n)
            if t is None:
                index.append(None)
            elif t not in rig["keypoints"]:
                problems.append(
                    f"{where}: keypoint {n!r} of category {name!r} is not a keypoint of rig "
                    f"{target!r} ({rig['keypoints']}); map it in keypoints.{target}: "
                    f"{{{n}: NAME}} or to null to drop it"
                )
                index.append(None)
            else:
                index.append(rig["keypoints"].index(t))
                covered.append(t)
        missing = [k for k in rig["keypoints"] if k not in covered]
        if missing:
            problems.append(
                f"{where}: category {name!r} lacks rig {target!r} keypoints {missing} "
                f"(it has {names}); map its names in keypoints.{target}"
            )
        twice = sorted({t for t in covered if covered.count(t) > 1})
        if twice:
            problems.append(f"{where}: category {name!r}: several keypoints map onto {twice}")
        mapping[cat.get("id")] = (rig, index)
    for rig in set(cfg.keypoints) - used_rigs:
        problems.append(f"{where}.keypoints: {rig!r} is not a rig that this export's categories map onto")
    return mapping, problems


def _number(v) -> bool:
    """A finite int or float (JSON's null, strings, booleans and NaN are not)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _keypoint_list(a: dict) -> list:
    kps = a.get("keypoints")
    return kps if isinstance(kps, list) else []


def _has_points(a: dict) -> bool:
    return any(_number(v) and v > 0 for v in _keypoint_list(a)[2::3])


def _box(a: dict) -> list[float] | None:
    """The annotation's [x, y, w, h] when it is four finite numbers, else None."""
    b = a.get("bbox")
    return [float(v) for v in b] if isinstance(b, list) and len(b) == 4 and all(_number(v) for v in b) else None


def pair_boxes(anns: list[dict]) -> tuple[list[dict], int]:
    """Join each keypoint-only annotation to the smallest box-only annotation of its image that
    holds all its labelled keypoints (Label Studio exports a rectangle and its keypoints apart)."""
    boxes = defaultdict(list)
    for a in anns:
        if not _has_points(a) and _box(a) is not None:
            boxes[a.get("image_id")].append(a)
    out, used, joined = [], set(), 0
    for a in anns:
        if not _has_points(a):
            continue
        kps = _keypoint_list(a)
        pts = np.array(
            [
                kps[j : j + 2]
                for j in range(0, len(kps) - 2, 3)
                if all(_number(v) for v in kps[j : j + 3]) and kps[j + 2] > 0
            ],
            float,
        ).reshape(-1, 2)
        inside = [
            b
            for b in boxes[a.get("image_id")]
            if id(b) not in used
            and np.all((pts >= np.array(_box(b)[:2]) - 1) & (pts <= np.array(_box(b)[:2]) + np.array(_box(b)[2:]) + 1))
        ]
        if inside:
            b = min(inside, key=lambda b: b["bbox"][2] * b["bbox"][3])
            used.add(id(b))
            joined += 1
            a = {**b, "keypoints": a["keypoints"], "num_keypoints": a.get("num_keypoints")}
        out.append(a)
    out += [b for bs in boxes.values() for b in bs if id(b) not in used]
    return sorted(out, key=lambda a: (str(type(a.get("id"))), a.get("id"))), joined


def normalize_annotation(
    a: dict, w: int, h: int, rig: dict, index: list, offset: float, notes: Counter
) -> tuple[dict | None, str | None]:
    """The annotation in our format (keypoints in rig order, RLE, bbox, area), or a problem."""
    k_rig = len(rig["keypoints"])
    raw = a.get("keypoints")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        return None, f"keypoints: expected a list of x, y, v values, got {type(raw).__name__}"
    if raw and len(raw) != 3 * len(index):
        return (
            None,
            f"keypoints: expected {3 * len(index)} values (x, y, v per keypoint), got {len(raw)}",
        )
    kps = [0.0, 0.0, 0] * k_rig
    if not _has_points(a):
        notes["no_keypoints"] += 1
    for j, t in enumerate(index):
        if not raw or t is None:
            continue
        x, y, v = raw[3 * j : 3 * j + 3]
        if not _number(v) or v not in (0, 1, 2):
            return None, f"keypoints[{j}]: v={v!r}, expected 0, 1 or 2"
        if v == 0:
            continue
        if not (_number(x) and _number(y)):
            return None, f"keypoints[{j}]: (x, y) = ({x!r}, {y!r}), expected two finite numbers for a labelled keypoint"
        x, y = float(x) + offset, float(y) + offset
        if not (0 <= x <= w and 0 <= y <= h):
            notes["outside_image"] += 1
            continue
        kps[3 * t : 3 * t + 3] = [round(x, 3), round(y, 3), int(v)]
    group = (rig.get("rig") or {}).get("symmetry_permutations")
    if group:  # labelled as the renders are: the canonical order of the rig's symmetry
        p = group[symmetry.canonical_index(np.array(kps, float).reshape(-1, 3), group)]
        if list(p) != list(range(k_rig)):
            kps = [value for j in p for value in kps[3 * j : 3 * j + 3]]
            notes["symmetry_relabelled"] += 1
    seg = a.get("segmentation")
    rle = None
    if seg not in (None, [], {}):
        try:
            rle = coco.to_rle(seg, h, w)
        except (ValueError, TypeError, KeyError) as exc:
            return None, f"segmentation: cannot decode: {exc}"
        if list(rle["size"]) != [h, w]:
            return None, f"segmentation: size {rle['size']}, but the image is [{h}, {w}]"
    bbox = a.get("bbox")
    if bbox not in (None, []) and _box(a) is None:
        return None, f"bbox: {bbox!r}, expected [x, y, width, height] as four finite numbers"
    if bbox not in (None, []) and (bbox[2] < 0 or bbox[3] < 0):
        return None, f"bbox: {bbox!r} has a negative width or height; expected [x, y, width, height]"
    if isinstance(bbox, list) and len(bbox) == 4 and bbox[2] > 0 and bbox[3] > 0:
        x0, y0 = max(0.0, float(bbox[0])), max(0.0, float(bbox[1]))
        x1, y1 = min(float(w), float(bbox[0] + bbox[2])), min(float(h), float(bbox[1] + bbox[3]))
        if (x0, y0, x1, y1) != (bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]):
            notes["bbox_clipped"] += 1
        bbox = [x0, y0, x1 - x0, y1 - y0]
    elif rle is not None and coco.rle_bbox_area(rle)[1] > 0:
        bbox = coco.rle_bbox_area(rle)[0]
        notes["bbox_from_mask"] += 1
    else:
        pts = np.array(kps, float).reshape(-1, 3)
        pts = pts[pts[:, 2] > 0, :2]
        if len(pts) < 2 or np.ptp(pts[:, 0]) <= 0 or np.ptp(pts[:, 1]) <= 0:
            notes["dropped_no_box"] += 1
            return None, None
        bbox = [
            float(pts[:, 0].min()),
            float(pts[:, 1].min()),
            float(np.ptp(pts[:, 0])),
            float(np.ptp(pts[:, 1])),
        ]
        notes["bbox_from_keypoints"] += 1
    if bbox[2] <= 0 or bbox[3] <= 0:
        notes["dropped_no_box"] += 1
        return None, None
    area = a.get("area")
    if not (_number(area) and area > 0):
        if rle is not None and coco.rle_bbox_area(rle)[1] > 0:
            area = coco.rle_bbox_area(rle)[1]
            notes["area_from_mask"] += 1
        else:
            area = bbox[2] * bbox[3]
            notes["area_from_bbox"] += 1
    n_vis = coco.num_visible(kps)
    if "num_keypoints" not in a or a["num_keypoints"] is None:
        notes["num_keypoints_missing"] += 1
    elif a["num_keypoints"] != n_vis:
        notes["num_keypoints_recounted"] += 1
    crowd = a.get("iscrowd")
    if crowd not in (None, 0, 1) or isinstance(crowd, float) and not crowd.is_integer():
        return None, f"iscrowd: {crowd!r}, expected 0 or 1"
    crowd = int(crowd or 0)
    notes["crowd"] += crowd
    out = {
        "category_id": rig["id"],
        "keypoints": kps,
        "num_keypoints": n_vis,
        "bbox": [round(float(v), 3) for v in bbox],
        "area": float(area),
        "iscrowd": crowd,
    }
    if rle is not None:
        out["segmentation"] = rle
    return out, None


NOTES = {
    "offset": "had integer keypoint coordinates (pixel indices): added 0.5 px to reach pixel "
    "centres; set pixel_offset: 0 if your tool rounds continuous coordinates",
    "no_keypoints": "have no labelled keypoints: kept as boxes (COCOeval ignores them for keypoints)",
    "outside_image": "keypoint(s) labelled outside the image: set to v=0 at (0, 0)",
    "bbox_clipped": "bbox(es) reached outside the image: clipped to it",
    "bbox_from_mask": "had no usable bbox: computed from the segmentation mask",
    "bbox_from_keypoints": "had no usable bbox or mask: bbox is the box around the labelled keypoints",
    "dropped_no_box": "had no bbox, mask or two spread keypoints: dropped",
    "area_from_mask": "had no usable area (missing, null or not a positive number): computed as the "
    "segmentation mask's pixel count",
    "area_from_bbox": "had no usable area (missing, null or not a positive number): computed as bbox width x height",
    "num_keypoints_missing": "had no num_keypoints: counted the keypoints with v > 0",
    "num_keypoints_recounted": "had a num_keypoints that did not match: recounted",
    "crowd": "are iscrowd=1: kept (COCOeval treats them as ignore regions)",
    "paired": "keypoint-only annotations were joined to their enclosing box (pair_boxes)",
    "negatives": "image(s) have no annotations: kept as negatives",
    "symmetry_relabelled": "were relabelled to the canonical order of their rig's symmetry, as renders are "
    "(docs/guide/symmetry.md)",
}


def labelled_xy(anns: list[dict]) -> list[float]:
    """x and y of every keypoint with v > 0 (to tell integer pixel indices from continuous)."""
    out = []
    for a in anns:
        kps = _keypoint_list(a)
        for j in range(0, len(kps) - 2, 3):
            if all(_number(v) for v in kps[j : j + 3]) and kps[j + 2] > 0:
                out += [kps[j], kps[j + 1]]
    return out


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
