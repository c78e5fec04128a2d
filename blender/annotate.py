"""COCO records from one render: keypoint visibility, and box/area/RLE from instance masks (pure).

Conventions (docs/reference/DATA_FORMAT.md): continuous pixel coordinates; v=0 outside the image or behind
the camera (x = y = 0), v=1 inside but hidden, v=2 seen. A keypoint is hidden when the first
surface on the ray from the camera centre is closer than the keypoint minus its tolerance.
"""

from __future__ import annotations

import numpy as np

from blender.codecs import rle

DECIMALS = 3  # keypoint coordinates are rounded so the JSON bytes are stable across machines


def visibility(
    in_frame: np.ndarray, keypoint_dist: np.ndarray, first_hit: np.ndarray, tolerance: np.ndarray
) -> np.ndarray:
    """v per keypoint from frame membership and ray-cast distances (metres)."""
    seen = first_hit >= keypoint_dist - tolerance
    return np.where(in_frame, np.where(seen, 2, 1), 0).astype(int)


def keypoint_triplets(uv: np.ndarray, v: np.ndarray) -> list[float]:
    """Flat COCO [x, y, v, ...] with x = y = 0 where v = 0."""
    out: list[float] = []
    for (x, y), vis in zip(uv, v):
        if vis == 0:
            out += [0, 0, 0]
        else:
            out += [round(float(x), DECIMALS), round(float(y), DECIMALS), int(vis)]
    return out


def instance_record(category_id: int, uv: np.ndarray, v: np.ndarray, mask: np.ndarray) -> dict:
    """One COCO annotation (without id / image_id) from keypoints and the visible mask."""
    return {
        "category_id": category_id,
        "keypoints": keypoint_triplets(uv, v),
        "num_keypoints": int((v > 0).sum()),
        "bbox": [float(b) for b in rle.bbox(mask)],
        "area": float(rle.area(mask)),
        "segmentation": rle.encode(mask),
        "iscrowd": 0,
    }
