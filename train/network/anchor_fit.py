"""How well the RPN's anchors fit the training boxes, as the model sees them.

The RPN learns from anchors at IoU >= 0.7 with a box (torchvision's positive threshold); a box
with no such anchor is learned only through its single best anchor, from a worse start. Long,
thin rigs (a tube lying across the image, 4:1) miss torchvision's one size and three shapes per
level, so training says how many train boxes have a good anchor and which params change it.

The check compares shapes only (an anchor centred on the box), so it is an upper bound on what
the anchor grid, with its stride, offers; it needs no model and no image.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from train.dataset import model_input_size

RPN_POSITIVE_IOU = 0.7  # torchvision's rpn_fg_iou_thresh
POOR_FIT = 0.5  # share of boxes below which training warns
GOOD_FIT = 0.9  # share of boxes a suggestion aims at
SCALES = ((1.0,), (1.0, 2**0.5), (1.0, 2 ** (1 / 3), 2 ** (2 / 3)))  # sizes per level, as multiples of its first


def anchor_shapes(sizes: Sequence[Sequence[float]], aspect_ratios: Sequence[float]) -> np.ndarray:
    """(n, 2) widths and heights of every anchor shape, as torchvision's AnchorGenerator makes
    them: height / width = ratio, area = size squared."""
    shapes = []
    for level in sizes:
        for size in level:
            for ratio in aspect_ratios:
                h = np.sqrt(ratio)
                shapes.append((size / h, size * h))
    return np.asarray(shapes, dtype=np.float64).reshape(-1, 2)


def best_shape_iou(boxes_wh: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """For each (w, h) box, the IoU of the best anchor shape centred on it."""
    boxes_wh = np.asarray(boxes_wh, dtype=np.float64).reshape(-1, 2)
    if len(boxes_wh) == 0 or len(shapes) == 0:
        return np.zeros(len(boxes_wh))
    inter = np.minimum(boxes_wh[:, None, 0], shapes[None, :, 0]) * np.minimum(boxes_wh[:, None, 1], shapes[None, :, 1])
    union = (boxes_wh[:, 0] * boxes_wh[:, 1])[:, None] + (shapes[:, 0] * shapes[:, 1])[None, :] - inter
    return (inter / union).max(axis=1)


def model_boxes(images: Iterable[dict], anns_by_image: dict, min_size: int, max_size: int) -> np.ndarray:
    """(n, 2) sizes of the annotated boxes after the model's resize to `min_size` / `max_size`.
    Boxes of zero area (keypoint-only annotations) are left out."""
    sizes = []
    for im in images:
        mw, mh = model_input_size(im["width"], im["height"], min_size, max_size)
        sx, sy = mw / im["width"], mh / im["height"]
        for a in anns_by_image.get(im["id"], []):
            w, h = a["bbox"][2] * sx, a["bbox"][3] * sy
            if w > 0 and h > 0:
                sizes.append((w, h))
    return np.asarray(sizes, dtype=np.float64).reshape(-1, 2)


def fit_share(boxes_wh: np.ndarray, sizes, aspect_ratios) -> float:
    """The share of boxes with an anchor shape at the RPN's positive IoU."""
    best = best_shape_iou(boxes_wh, anchor_shapes(sizes, aspect_ratios))
    return float((best >= RPN_POSITIVE_IOU).mean()) if len(best) else 0.0


def suggest_anchors(boxes_wh: np.ndarray, sizes) -> tuple[list[list[int]], list[float], float]:
    """Anchors that fit the boxes: aspect ratios in powers of 2 spanning the boxes' height / width
    (5th-95th percentile), and 1, 2 or 3 sizes per level from each level's first; the fewest
    shapes that give GOOD_FIT, else the best. Returns sizes, ratios and the share that fits.

    torchvision's RPN head needs as many anchors at every level, so every level gets as many sizes."""
    hw = np.log2(boxes_wh[:, 1] / boxes_wh[:, 0])
    lo, hi = np.percentile(hw, [5, 95])
    ratios = [2.0**e for e in range(min(0, int(np.floor(lo + 0.5))), max(0, int(np.ceil(hi - 0.5))) + 1)]
    best = None
    for scales in SCALES:
        cand = [[round(level[0] * k) for k in scales] for level in sizes]
        share = fit_share(boxes_wh, cand, ratios)
        if best is None or share > best[2] + 1e-9:
            best = (cand, ratios, share)
        if share >= GOOD_FIT:
            break
    return best


@dataclass(frozen=True)
class AnchorFit:
    """How the anchors fit the train boxes: what training logs and the checkpoint keeps."""

    boxes: int
    share: float  # of the boxes, with an anchor at RPN_POSITIVE_IOU
    wh_range: tuple[float, float]  # box width / height, 5th-95th percentile
    better: str = ""  # when few fit (under POOR_FIT): the params that fit more, as one phrase

    def line(self) -> str:
        lo, hi = self.wh_range
        line = (
            f"anchors: {self.share:.0%} of {self.boxes} train boxes have an anchor at IoU >= {RPN_POSITIVE_IOU} "
            f"(box width / height {lo:.2f}-{hi:.2f}, 5th-95th percentile)"
        )
        return line + (f"; warning: few boxes fit the anchors. {self.better}" if self.better else "")


def anchor_fit(boxes_wh: np.ndarray, sizes, aspect_ratios) -> AnchorFit | None:
    """The fit of the anchors to the (w, h) boxes, with better anchors when few fit; None without boxes."""
    if len(boxes_wh) == 0:
        return None
    share = fit_share(boxes_wh, sizes, aspect_ratios)
    lo, hi = np.percentile(boxes_wh[:, 0] / boxes_wh[:, 1], [5, 95])
    better = ""
    if share < POOR_FIT:
        new_sizes, new_ratios, new_share = suggest_anchors(boxes_wh, sizes)
        if new_share > share:
            better = (
                f"model.anchor_sizes: {new_sizes} and model.aspect_ratios: {[_short(r) for r in new_ratios]} "
                f"fit {new_share:.0%}"
            )
    return AnchorFit(len(boxes_wh), share, (float(lo), float(hi)), better)


def anchor_fit_line(fit: AnchorFit | None) -> str:
    """One log line: the share of boxes with an anchor at the RPN's positive IoU, and, when
    that is poor, anchors that fit them better."""
    return fit.line() if fit else "anchors: no boxes in train.json to fit"


def _short(x: float) -> float | int:
    return int(x) if x == int(x) else x
