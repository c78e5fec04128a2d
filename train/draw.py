"""Draw boxes, keypoints and skeletons (for prediction overlays and contact sheets).

Inputs are continuous pixel coordinates; cv2 draws in pixel-index coordinates with sub-pixel
precision through its `shift` bits, so a point (x, y) is drawn at index (x - 0.5, y - 0.5).
"""

from __future__ import annotations

import cv2
import numpy as np

from .dataset import Category

SHIFT = 4
GT_COLOUR = (40, 220, 40)  # RGB
PRED_COLOUR = (255, 60, 60)


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round((x - 0.5) * (1 << SHIFT))), int(round((y - 0.5) * (1 << SHIFT)))


def draw_instance(
    img: np.ndarray,
    cat: Category,
    bbox_xywh: list[float],
    keypoints: list[float],
    colour: tuple[int, int, int],
    label: str | None = None,
) -> None:
    """Draw one instance in place on an RGB uint8 image; keypoints with v = 0 are skipped."""
    scale = max(1, round(max(img.shape[:2]) / 400))
    x, y, w, h = bbox_xywh
    cv2.rectangle(img, _pt(x, y), _pt(x + w, y + h), colour, scale, cv2.LINE_AA, SHIFT)
    kp = np.asarray(keypoints, np.float64).reshape(-1, 3)
    for a, b in cat.skeleton:
        if kp[a - 1, 2] > 0 and kp[b - 1, 2] > 0:
            cv2.line(img, _pt(*kp[a - 1, :2]), _pt(*kp[b - 1, :2]), colour, scale, cv2.LINE_AA, SHIFT)
    for j, (px, py, v) in enumerate(kp):
        if v > 0:
            hue = int(180 * j / max(1, len(kp)))
            dot = cv2.cvtColor(np.uint8([[[hue, 255, 255]]]), cv2.COLOR_HSV2RGB)[0, 0].tolist()
            cv2.circle(img, _pt(px, py), (2 + scale) << SHIFT, dot, -1, cv2.LINE_AA, SHIFT)
            cv2.circle(img, _pt(px, py), (2 + scale) << SHIFT, colour, 1, cv2.LINE_AA, SHIFT)
    if label:
        org = (int(x), max(10, int(y) - 3))
        cv2.putText(img, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale, colour, 1, cv2.LINE_AA)


def draw_annotations(img: np.ndarray, anns: list[dict], cats: dict[int, Category], colour, scores=False):
    """A copy of `img` with COCO annotations or results drawn on it."""
    out = img.copy()
    for a in anns:
        cat = cats.get(a["category_id"])
        if cat is None:
            continue
        label = f"{cat.name} {a['score']:.2f}" if scores and "score" in a else cat.name
        draw_instance(out, cat, a["bbox"], a["keypoints"], colour, label)
    return out


def fit_height(img: np.ndarray, height: int) -> np.ndarray:
    scale = height / img.shape[0]
    return cv2.resize(img, (max(1, round(img.shape[1] * scale)), height), interpolation=cv2.INTER_AREA)


def contact_sheet(tiles: list[np.ndarray], columns: int = 4, height: int = 240) -> np.ndarray:
    """Tiles (each already ground truth | prediction side by side) in a grid, row-major."""
    tiles = [fit_height(t, height) for t in tiles]
    width = max(t.shape[1] for t in tiles)
    rows = []
    for r in range(0, len(tiles), columns):
        row = [np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0))) for t in tiles[r : r + columns]]
        row += [np.zeros((height, width, 3), np.uint8)] * (columns - len(row))
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 4) -> np.ndarray:
    sep = np.full((left.shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([left, sep, right], axis=1)
