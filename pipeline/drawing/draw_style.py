"""The look every drawing shares: keypoint and category colours, marker sizes, the font, and
images taken as PIL (PIL; no files).

`pipeline/drawing/draw.py` (annotations and detections) and `pipeline/drawing/contact_sheet.py` (sheets) draw
with these, so a keypoint has the same colour in every overlay, sheet and prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFont

RGB = tuple[int, int, int]
ImageLike = Image.Image | np.ndarray

# 20 distinct colours (Trubetskoy's list); keypoint k of any category gets KEYPOINT_COLORS[k % 20].
KEYPOINT_COLORS: tuple[RGB, ...] = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128),
)  # fmt: skip
# Box, skeleton and mask outline colour of category id c: CATEGORY_COLORS[(c - 1) % 6].
CATEGORY_COLORS: tuple[RGB, ...] = (
    (255, 255, 255),
    (0, 255, 255),
    (255, 255, 0),
    (255, 0, 255),
    (0, 255, 0),
    (255, 160, 0),
)
OUTLINE: RGB = (0, 0, 0)  # dark edge around markers and text, readable on any background
GT_COLOR: RGB = (40, 220, 40)  # ground truth beside predictions (train.evaluate's contact sheets)
PRED_COLOR: RGB = (255, 60, 60)  # predictions (train.evaluate, train.predict)


def keypoint_color(index: int) -> RGB:
    """Colour of the keypoint at 0-based `index` in its category: the same in every image."""
    return KEYPOINT_COLORS[index % len(KEYPOINT_COLORS)]


def category_color(category_id: int) -> RGB:
    """Colour of boxes, skeleton lines and mask outlines of a category (COCO id, 1-based)."""
    return CATEGORY_COLORS[(category_id - 1) % len(CATEGORY_COLORS)]


@dataclass(frozen=True)
class Style:
    """Marker sizes in output pixels."""

    radius: float  # keypoint dot / ring radius
    line: int  # box, skeleton and mask outline width
    font_size: int  # keypoint and box labels

    @classmethod
    def for_size(cls, width: int, height: int) -> Style:
        """Sizes proportional to the longer side, 1 unit per 640 px, with legible minimums."""
        unit = max(width, height) / 640
        return cls(
            radius=max(3.0, 3.5 * unit),
            line=max(1, round(1.5 * unit)),
            font_size=max(10, round(12 * unit)),
        )


@lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled scalable font at `size` px (no system fonts needed)."""
    return ImageFont.load_default(size=size)


def to_pil(image: ImageLike) -> Image.Image:
    """A new RGB PIL image from a PIL image or an HxWx3 (or HxW) uint8 array; input untouched."""
    if isinstance(image, Image.Image):
        return image.convert("RGB") if image.mode != "RGB" else image.copy()
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"expected an HxWx3 uint8 array, got shape {arr.shape} dtype {arr.dtype}")
    img = Image.fromarray(arr)  # an RGB array is copied (PIL stores RGB in 4 bytes a pixel)
    return img if img.mode == "RGB" else img.convert("RGB")
