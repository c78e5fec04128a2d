"""One annotation of a real export repaired into our format: keypoint-only annotations joined to
their boxes, keypoints in rig order (and the rig's symmetry order), RLE masks, boxes and areas
filled in; each repair counted under a NOTES key, which says what it did."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from common import symmetry
from common.rig_model import RigModel
from pipeline.coco_files import coco


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
    a: dict, w: int, h: int, rig: RigModel, index: list, offset: float, notes: Counter
) -> tuple[dict | None, str | None]:
    """The annotation in our format (keypoints in rig order, RLE, bbox, area), or a problem."""
    k_rig = rig.num_keypoints
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
    group = rig.symmetry
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
        "category_id": rig.id,
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
