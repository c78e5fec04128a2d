"""The checks of one annotation against its image and category: keypoints, box and area, mask.

pipeline/coco_files/coco_checks.py runs them for each annotation whose image and category resolve; each
problem goes through `add` at the level its `Needs` flag asks for.
"""

from __future__ import annotations

import math

import numpy as np

from pipeline.coco_files import coco
from pipeline.coco_files.coco_needs import ERROR, Add, Needs, is_number, strongest

BOX_TOL = 1.0  # pixels: a box against its mask's box, and a box reaching outside the image


def check_annotation(a: dict, img: dict, cat: dict, key: str, needs: Needs, add: Add) -> None:
    """Every problem of annotation `a` (named `key`) on its image `img` of category `cat`."""
    _keypoints(a, img, cat, key, needs, add)
    _box(a, img, key, needs, add)
    _mask(a, img, key, needs, add)


def _keypoints(a: dict, img: dict, cat: dict, key: str, needs: Needs, add: Add) -> None:
    names = cat.get("keypoints", [])
    k, (w, h) = len(names), (img["width"], img["height"])
    kps = a.get("keypoints", [] if k == 0 else None)
    if not isinstance(kps, list) or len(kps) != 3 * k or not all(is_number(v) for v in kps):
        got = f"{len(kps)} values" if isinstance(kps, list) and len(kps) != 3 * k else repr(kps)
        add(
            ERROR,
            f"{key}.keypoints",
            "structure",
            f"{got}, expected 3 x {k} = {3 * k} numbers [x, y, v] for category {cat.get('name')!r} ({names})",
        )
        return
    for j, name in enumerate(names):
        x, y, v = kps[3 * j : 3 * j + 3]
        where = f"{key}.keypoints[{name}]"
        if v not in (0, 1, 2):
            add(needs.visibility, where, "visibility", f"v={v}, expected 0, 1 or 2")
        elif v == 0 and (x != 0 or y != 0):
            add(needs.conventions, where, "v0_with_xy", f"v=0 but (x, y) = ({x}, {y}); expected (0, 0)")
        elif v > 0 and not (0 <= x <= w and 0 <= y <= h):
            add(needs.format, where, "keypoints_outside_image", f"v={v} but ({x}, {y}) is outside the {w}x{h} image")
    n, field = coco.num_visible(kps), a.get("num_keypoints")
    if field is None:
        add(
            needs.format,
            f"{key}.num_keypoints",
            "num_keypoints_missing",
            f"missing; expected {n} (keypoints with v > 0)",
        )
    elif field != n:
        add(needs.format, f"{key}.num_keypoints", "num_keypoints_mismatch", f"{field}, but {n} keypoints have v > 0")
    crowd = a.get("iscrowd")
    if crowd is None:
        add(needs.conventions, f"{key}.iscrowd", "conventions", "missing; expected 0 or 1")
    elif crowd not in (0, 1):
        add(needs.format, f"{key}.iscrowd", "format", f"{crowd!r}: expected 0 or 1")


def _box(a: dict, img: dict, key: str, needs: Needs, add: Add) -> None:
    w, h, bbox = img["width"], img["height"], a.get("bbox")
    if bbox is None:
        add(needs.boxes, f"{key}.bbox", "boxes", "missing; expected [x, y, width, height]")
    elif not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int | float) for v in bbox)):
        add(ERROR, f"{key}.bbox", "structure", f"expected [x, y, width, height], got {bbox!r}")
    elif not all(math.isfinite(v) for v in bbox) or bbox[2] <= 0 or bbox[3] <= 0:
        add(
            strongest(needs.boxes, needs.format),
            f"{key}.bbox",
            "boxes",
            f"degenerate box {bbox} (expected finite, width and height > 0)",
        )
    elif bbox[0] < -BOX_TOL or bbox[1] < -BOX_TOL or bbox[0] + bbox[2] > w + BOX_TOL or bbox[1] + bbox[3] > h + BOX_TOL:
        add(needs.format, f"{key}.bbox", "boxes_outside_image", f"{bbox} reaches outside the {w}x{h} image")
    area = a.get("area")
    if area is None:
        add(needs.boxes, f"{key}.area", "boxes", "missing; expected a positive number (OKS divides by it)")
    elif not (is_number(area) and area > 0):
        add(needs.format, f"{key}.area", "format", f"{area!r}: expected a positive number (OKS divides by it)")


def _mask(a: dict, img: dict, key: str, needs: Needs, add: Add) -> None:
    seg = a.get("segmentation")
    if seg in (None, [], {}):
        add(needs.masks, f"{key}.segmentation", "masks", "missing; expected a mask (RLE or polygons)")
        return
    if not needs.decode_masks or needs.format is None:
        return
    w, h = img["width"], img["height"]
    try:
        rle = coco.to_rle(seg, h, w)
    except (ValueError, TypeError, KeyError) as exc:
        add(needs.format, f"{key}.segmentation", "format", f"cannot decode: {exc}")
        return
    if list(rle["size"]) != [h, w]:
        add(needs.format, f"{key}.segmentation", "format", f"size {rle['size']}, expected the image's [{h}, {w}]")
        return
    mbox, marea = coco.rle_bbox_area(rle)
    bbox, area = a.get("bbox"), a.get("area")
    box_ok = isinstance(bbox, list) and len(bbox) == 4 and all(is_number(v) for v in bbox) and min(bbox[2:]) > 0
    if box_ok and marea > 0:
        corners = [bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]]
        if not np.allclose(corners, [mbox[0], mbox[1], mbox[0] + mbox[2], mbox[1] + mbox[3]], atol=BOX_TOL):
            add(needs.conventions, f"{key}.bbox", "conventions", f"{bbox} differs from the mask's box {mbox}")
    if is_number(area) and area > 0 and not isinstance(seg, list) and abs(area - marea) > max(1.0, 0.01 * marea):
        add(needs.conventions, f"{key}.area", "conventions", f"{area} differs from the mask's {marea} pixels")
