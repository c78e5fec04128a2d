"""8-bit sRGB PNG output (numpy and the standard library only).

Why our own writer: code in `blender/` runs inside a stock Blender, whose Python has no PIL or
OpenCV, and Blender's own PNG writer cannot take a numpy array without a round trip through an
image datablock. The bytes depend only on the pixels and the zlib level: no time stamps, no text
or gamma chunks, one IDAT chunk, the same PNG filter on every row, so a re-render of the same
pixels gives the same file (with the same zlib build; pixels are identical regardless).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np

from common.atomic import write_bytes

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)
FILTERS = {"none": 0, "sub": 1, "up": 2, "average": 3, "paeth": 4}


def srgb_oetf(linear: np.ndarray) -> np.ndarray:
    """The exact sRGB OETF (IEC 61966-2-1) in float64: linear [0, 1] -> encoded [0, 1]."""
    x = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)


def _srgb8_tables() -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables keyed by the top 16 bits of a float32 in [0, 1].

    Level k (0..255) starts where the OETF reaches (k - 0.5) / 255. A key covers a relative
    span of 2**-7 in linear value, less than one level everywhere, so a key's level is its
    lower end's level `base` plus 1 from `step` (the next start, as the least float32 >= it) on.
    """
    encoded = (np.arange(1, 256) - 0.5) / 255  # where levels 1..255 start
    low = encoded / 12.92
    starts = np.where(low <= 0.0031308, low, ((encoded + 0.055) / 1.055) ** 2.4)
    starts32 = starts.astype(np.float32)
    starts32 = np.where(starts32 < starts, np.nextafter(starts32, np.float32(2)), starts32)
    keys = np.arange(0x3F81, dtype=np.uint32)  # 0x3F80 << 16 is 1.0f
    lower = (keys << 16).view(np.float32)
    upper = ((keys << 16) | 0xFFFF).view(np.float32)
    base = np.searchsorted(starts32, lower, side="right")
    assert np.all(np.searchsorted(starts32, np.minimum(upper, 1), side="right") - base <= 1)
    step = np.append(starts32, np.float32(np.inf))[base]
    return base.astype(np.uint8), step


_SRGB8_BASE, _SRGB8_STEP = _srgb8_tables()


def linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Scene-linear Rec.709 values -> 8-bit sRGB, as Blender's 'Standard' view transform saves.

    Exactly `floor(255 * srgb_oetf(clip(x, 0, 1)) + 0.5)` for x as float32 (the OETF in exact
    arithmetic, rounded half up as Blender does with dither 0; NaN -> 0), via lookup tables as
    pow() on a 640x480 frame costs tens of milliseconds. Blender's own fast pow() can land one
    level off where the exact value is within ~0.001 of a half level. Element-wise, so pass RGB
    only (alpha is linear and not encoded this way).
    """
    x = np.asarray(linear, dtype=np.float32)
    x = np.where(x > 0, np.minimum(x, np.float32(1)), np.float32(0))  # also NaN -> 0
    keys = x.view(np.uint32) >> 16
    return _SRGB8_BASE[keys] + (x >= _SRGB8_STEP[keys])


def write_png(path: str | Path, image: np.ndarray, level: int = 1, filter_type: str = "up") -> tuple[int, str]:
    """Save an (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) grey uint8 array, top row first.

    `level` is the zlib level (0-9). The default 1 with the 'up' filter writes a 640x480 frame in
    ~20 ms, about 10% bigger than level 6, which takes ~130 ms. `filter_type` is one PNG filter
    used on every row ('none', 'sub', 'up', 'average', 'paeth'). The file is written under a
    temporary name and then renamed, so an interrupted run never leaves a truncated PNG behind.
    Returns the file's size in bytes and its SHA-256 (hex), for the renderer's meta file.
    """
    path = Path(path)
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"{path}: image dtype is {image.dtype}, expected uint8")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in COLOR_TYPES:
        raise ValueError(f"{path}: image shape is {image.shape}, expected (H, W), (H, W, 3) or (H, W, 4)")
    height, width, channels = image.shape
    if height == 0 or width == 0:
        raise ValueError(f"{path}: image shape is {image.shape}, expected a non-empty image")
    if filter_type not in FILTERS:
        raise ValueError(f"{path}: filter_type is {filter_type!r}, expected one of {', '.join(FILTERS)}")
    if not 0 <= level <= 9:
        raise ValueError(f"{path}: zlib level is {level}, expected 0-9")

    rows = _filter(image.reshape(height, width * channels), channels, FILTERS[filter_type])
    ihdr = struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPES[channels], 0, 0, 0)
    data = b"".join(
        [
            SIGNATURE,
            _chunk(b"IHDR", ihdr),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)),
            _chunk(b"IEND", b""),
        ]
    )
    write_bytes(path, data)
    return len(data), hashlib.sha256(data).hexdigest()


def _filter(raw: np.ndarray, bpp: int, filter_id: int) -> np.ndarray:
    """(H, 1 + W*bpp) uint8: each row's filter byte then its filtered bytes (PNG spec, sec. 9).

    Encoding needs only the raw neighbours (left a, up b, up-left c), so it is vectorised.
    """
    height, stride = raw.shape
    out = np.empty((height, stride + 1), np.uint8)
    out[:, 0] = filter_id
    if filter_id == 0:
        out[:, 1:] = raw
        return out
    x = raw.astype(np.int16)
    a = np.zeros_like(x)
    a[:, bpp:] = x[:, :-bpp]
    b = np.zeros_like(x)
    b[1:] = x[:-1]
    if filter_id == 1:
        pred = a
    elif filter_id == 2:
        pred = b
    elif filter_id == 3:
        pred = (a + b) >> 1
    else:
        c = np.zeros_like(x)
        c[1:, bpp:] = x[:-1, :-bpp]
        pa, pb, pc = np.abs(b - c), np.abs(a - c), np.abs(a + b - 2 * c)
        pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    out[:, 1:] = (x - pred).astype(np.uint8)  # int16 -> uint8 wraps modulo 256
    return out


def _chunk(kind: bytes, payload: bytes) -> bytes:
    """Length, type, data, CRC-32 over type and data."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
