"""blender/codecs/rle.py against pycocotools: encode (byte for byte), toBbox, area, and decode back."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from blender.codecs import rle


def check(mask: np.ndarray) -> None:
    mask = np.asarray(mask, bool)
    ours = rle.encode(mask)
    theirs = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert ours["size"] == theirs["size"] == list(mask.shape)
    assert isinstance(ours["counts"], str)
    assert ours["counts"].encode("ascii") == theirs["counts"]
    assert rle.bbox(mask) == mask_utils.toBbox(theirs).tolist()
    assert rle.area(mask) == int(mask_utils.area(theirs)) == int(mask.sum())
    if mask.size:
        as_bytes = {"size": ours["size"], "counts": ours["counts"].encode("ascii")}
        np.testing.assert_array_equal(mask_utils.decode(as_bytes), mask)


def blob(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """An ellipse with a hole: convex runs plus a few extra per column."""
    y, x = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    ry, rx = rng.uniform(1, h), rng.uniform(1, w)
    r = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2
    return (r < 1) & (r > 0.2)


def test_random_masks():
    rng = np.random.default_rng(0)
    for _ in range(400):
        h, w = rng.integers(1, 60, 2)
        check(rng.random((h, w)) < rng.random())
        check(blob(rng, h, w))


@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (37, 1), (480, 640), (1080, 1920)])
def test_empty_full_and_single_pixels(shape):
    h, w = shape
    check(np.zeros(shape, bool))
    check(np.ones(shape, bool))
    for y, x in {(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 3)}:
        mask = np.zeros(shape, bool)
        mask[y, x] = True
        check(mask)
        check(~mask)


@pytest.mark.parametrize("shape", [(1, 500), (500, 1), (3, 7)])
def test_thin_masks(shape):
    rng = np.random.default_rng(1)
    for density in (0.05, 0.5, 0.95):
        check(rng.random(shape) < density)


def test_large_masks_and_long_runs():
    rng = np.random.default_rng(2)
    h, w = 1080, 1920
    check(blob(rng, h, w))
    check(rng.random((h, w)) < 0.5)  # ~1M runs of 1-2 pixels
    mask = np.zeros((h, w), bool)
    mask[:, 1500:] = True  # runs over 2**20 pixels, deltas of either sign, 5+ groups each
    mask[5, 3] = True
    check(mask)
    check(~mask)
    stripes = np.zeros((h, w), bool)
    stripes[:, ::2] = True  # whole-column runs
    check(stripes)


def test_zero_sized_masks_match_pycocotools():
    for shape in [(0, 5), (5, 0), (0, 0)]:
        check(np.zeros(shape, bool))


def test_bbox_is_continuous_pixels():
    mask = np.zeros((10, 20), bool)
    mask[2:5, 7] = True  # column 7, rows 2..4 -> covers x in [7, 8), y in [2, 5)
    assert rle.bbox(mask) == [7.0, 2.0, 1.0, 3.0]
    assert rle.area(mask) == 3


def test_integer_masks_and_bad_input():
    mask = np.zeros((4, 5), np.uint8)
    mask[1:3, 2:4] = 1
    assert rle.encode(mask) == rle.encode(mask.astype(bool))
    with pytest.raises(ValueError, match=r"shape \(4, 5, 1\), expected \(H, W\)"):
        rle.encode(mask[..., None])
    with pytest.raises(ValueError, match="values other than 0/1"):
        rle.encode(mask * 3)
    with pytest.raises(ValueError, match="dtype float"):
        rle.area(mask.astype(np.float32))
