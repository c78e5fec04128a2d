"""COCO compressed RLE, box and area of a binary mask (numpy and the standard library only).

Why not pycocotools: code in `blender/` runs inside a stock Blender, which cannot import it.
The output is byte-identical to `pycocotools.mask.encode` / `toBbox` / `area` (tests check it):
run lengths over the mask in column-major order starting with a run of 0s, each count from the
fourth on stored as the difference to the count two before, written in 5-bit groups (low group
first, 0x20 = more groups follow, sign from the last group's 0x10 bit) offset by ASCII 48.
"""

from __future__ import annotations

import numpy as np

GROUPS = 7  # 5-bit groups: enough for any difference of two uint32 counts


def encode(mask: np.ndarray) -> dict:
    """{"size": [h, w], "counts": str}, the COCO compressed RLE of a boolean (H, W) mask."""
    mask = _as_bool(mask)
    h, w = mask.shape
    return {"size": [h, w], "counts": _counts_string(_run_lengths(mask))}


def bbox(mask: np.ndarray) -> list[float]:
    """[x, y, w, h] of the mask's tight box in continuous pixels (pixel (i, j) covers
    [i, i+1) x [j, j+1)); [0, 0, 0, 0] for an empty mask, as pycocotools gives."""
    mask = _as_bool(mask)
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    rows = np.flatnonzero(mask.any(axis=1))
    x0, x1, y0, y1 = cols[0], cols[-1], rows[0], rows[-1]
    return [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]


def area(mask: np.ndarray) -> int:
    """Number of pixels in the mask."""
    return int(np.count_nonzero(_as_bool(mask)))


def _as_bool(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask has shape {mask.shape}, expected (H, W)")
    if mask.dtype == bool:
        return mask
    if not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"mask has dtype {mask.dtype}, expected bool (or integers 0/1)")
    if not np.all((mask == 0) | (mask == 1)):
        raise ValueError(f"mask of dtype {mask.dtype} has values other than 0/1, expected a boolean mask")
    return mask.astype(bool)


def _run_lengths(mask: np.ndarray) -> np.ndarray:
    """Alternating run lengths of 0s and 1s in column-major order, starting with 0s."""
    flat = mask.ravel(order="F")
    if flat.size == 0:
        return np.zeros(1, np.int64)
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    ends = np.concatenate([changes, [flat.size]])
    runs = np.diff(ends, prepend=0)
    if flat[0]:
        runs = np.concatenate([[0], runs])
    return runs.astype(np.int64)


def _counts_string(runs: np.ndarray) -> str:
    """pycocotools' rleToString, vectorised over the counts."""
    if runs.max() >= 2**32:
        raise ValueError("mask too large for COCO RLE (a run of 2**32 pixels or more)")
    x = runs.copy()
    x[3:] -= runs[1:-2]  # from the fourth count on (the C code's `i > 2`)
    shifts = 5 * np.arange(GROUPS, dtype=np.int64)
    rest = x[:, None] >> shifts  # arithmetic shift, as the C code on a signed long
    groups = rest & 0x1F
    after = rest >> 5  # what is left once a group is written
    done = np.where(groups & 0x10, after == -1, after == 0)
    used = np.argmax(done, axis=1) + 1  # groups written per count
    more = np.arange(GROUPS) < (used - 1)[:, None]
    chars = (groups | np.where(more, 0x20, 0)) + 48
    keep = np.arange(GROUPS) < used[:, None]
    return chars[keep].astype(np.uint8).tobytes().decode("ascii")
