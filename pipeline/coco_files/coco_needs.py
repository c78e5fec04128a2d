"""What a reader needs from a COCO keypoint file, as check levels: `Needs` and the needs of each
command (the checks behind each flag are listed in pipeline/coco_files/coco_checks.py's docstring).

Also how a check reports: `Add(level, key, check, message)`, where a level of None skips the
problem, and the value tests (`is_int`, `is_number`) the checks share.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

Level = Literal["error", "warning"] | None
ERROR: Level = "error"
WARNING: Level = "warning"
# The departures from the format that dataset stats count (stats.json `checks`), 0 in a clean dataset.
COUNTED = ("num_keypoints_mismatch", "keypoints_outside_image", "v0_with_xy", "boxes_outside_image")


@dataclass(frozen=True)
class Needs:
    """What a reader needs from a COCO keypoint file: each flag's checks (listed in
    pipeline/coco_files/coco_checks.py's docstring) run at its level; None skips them."""

    labels: Level = None
    rig: Level = None
    sigmas: Level = None
    boxes: Level = None
    visibility: Level = None
    masks: Level = None
    format: Level = None
    conventions: Level = None
    images: Level = None
    open_images: bool = False  # the `images` check opens each file and compares its size
    verify_images: bool = False  # ... and reads it to the end (a truncated file fails)
    decode_masks: bool = False  # the `format` check decodes each mask (slow on big datasets)


VALIDATE = Needs(
    labels=ERROR,
    rig=ERROR,
    boxes=ERROR,
    visibility=ERROR,
    format=ERROR,
    conventions=WARNING,
    images=ERROR,
    open_images=True,
    verify_images=True,
    decode_masks=True,
)
TRAIN = Needs(labels=ERROR, rig=ERROR, sigmas=ERROR, boxes=ERROR, visibility=ERROR, images=ERROR)
AUGMENT = Needs(rig=ERROR, masks=ERROR, images=ERROR, open_images=True)
INSPECT = Needs()
COUNT = Needs(format=WARNING, conventions=WARNING)  # what stats count: no file opened, no mask decoded


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def strongest(*levels: Level) -> Level:
    return ERROR if ERROR in levels else WARNING if WARNING in levels else None


Add = Callable[[Level, str, str, str], None]  # (level, key, check, message)


def without_images(needs: Needs) -> Needs:
    """The same needs, leaving the image files alone."""
    return replace(needs, images=None, open_images=False, verify_images=False)
