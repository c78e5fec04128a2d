"""Objects at the model's input: as big in the images evaluated as in the images trained on?

A detector learns the object at the size its train images show it after the model's resize
(min_size / max_size). Images whose objects come out much smaller or larger (a 16:9 camera frame
whose longer side max_size caps, a camera farther away than the renders') are scored far below
what the model can do: the default's 111 phone photos went from keypoint AP 0.44 to 0.67 when a
16:9 frame kept min_size on its short side (docs/results/2026-12-05-pretrained-start.md).
"""

from __future__ import annotations

import numpy as np

from train.dataset import model_input_size

# outside this ratio of the train objects' median size, evaluate prints a note: the augment's
# usual scale range (0.75-1.25) covers about this much
RATIO_LOW, RATIO_HIGH = 0.75, 1.33


def median_object_px(boxes: np.ndarray) -> float | None:
    """Median sqrt(width x height) of (n, 2) box sizes in model-input pixels."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 2)
    return float(np.median(np.sqrt(boxes[:, 0] * boxes[:, 1]))) if len(boxes) else None


def capped_share(images: list[dict], min_size: int, max_size: int) -> float:
    """Share of images whose resize max_size decides, leaving their short side below min_size."""
    if not images:
        return 0.0
    sides = [min(model_input_size(im["width"], im["height"], min_size, max_size)) for im in images]
    return sum(side < min_size - 1 for side in sides) / len(images)  # 1 px: the resize rounds


def scale_note(
    where: str, object_px: float | None, train_px: float | None, capped: float, min_size: int, max_size: int
) -> str | None:
    """One line when `where`'s objects are far from the train objects' size at the model's input."""
    if object_px is None or not train_px:
        return None
    ratio = object_px / train_px
    if RATIO_LOW <= ratio <= RATIO_HIGH:
        return None
    size = (
        f"{where}: the objects are a median {object_px:.0f} px at the model's input, "
        f"{ratio:.2f}x the train images' {train_px:.0f} px"
    )
    if ratio > RATIO_HIGH:
        return f"note: {size}; the detector learned them smaller: lower model.min_size, or render the object larger"
    if capped >= 0.5:
        return (
            f"note: {size}; model.max_size {max_size} caps {capped:.0%} of these images below a short side of "
            f"{min_size} px: raise model.max_size (to min_size x 16/9 = {int(np.ceil(min_size * 16 / 9))} for 16:9 "
            "frames; it changes no square train image) (docs/guide/train.md#objects-at-the-models-input)"
        )
    return (
        f"note: {size}; the detector learned them larger: raise model.min_size for these images, or render "
        "the object smaller (render.camera.distance) (docs/guide/train.md#objects-at-the-models-input)"
    )
