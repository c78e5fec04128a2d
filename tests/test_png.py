"""blender/codecs/png.py: PNGs read back by Pillow, and the sRGB encoding against the float64 formula
and against what Blender itself saves with the 'Standard' view transform."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from blender.codecs.exr import find_channel, read_exr
from blender.codecs.png import FILTERS, linear_to_srgb8, write_png
from tests.support.exr_renders import RENDER_SIZE
from tests.support.renders import srgb_encode


def reference_srgb8(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 in float64, rounded half up (the definition the fast version must meet)."""
    x = np.clip(np.nan_to_num(np.asarray(linear, np.float64), nan=0.0), 0.0, 1.0)
    return np.floor(srgb_encode(x) * 255 + 0.5).astype(np.uint8)


def chunk_types(path) -> list[bytes]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    types, pos = [], 8
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos : pos + 4])
        types.append(data[pos + 4 : pos + 8])
        pos += 12 + size
    return types


def sample_images() -> list[np.ndarray]:
    """Images of every supported layout: random (incompressible) and smooth, odd sizes."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:45, 0:61]
    smooth = ((x * 3 + y * 5) % 256).astype(np.uint8)
    return [
        rng.integers(0, 256, (45, 61, 3), dtype=np.uint8),
        rng.integers(0, 256, (45, 61, 4), dtype=np.uint8),
        rng.integers(0, 256, (45, 61), dtype=np.uint8),
        np.stack([smooth, smooth.T[:45, :45].repeat(2, 1)[:, :61], 255 - smooth], -1),
        rng.integers(0, 256, (1, 1, 3), dtype=np.uint8),
        rng.integers(0, 256, (1, 17, 4), dtype=np.uint8),
        rng.integers(0, 256, (17, 1, 3), dtype=np.uint8),
    ]


@pytest.mark.parametrize("filter_type", FILTERS)
@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_round_trip_with_pillow(tmp_path, filter_type, level):
    for i, image in enumerate(sample_images()):
        path = tmp_path / f"{i}.png"
        write_png(path, image, level=level, filter_type=filter_type)
        with Image.open(path) as im:
            im.verify()  # chunk CRCs
        with Image.open(path) as im:
            assert im.mode == {2: "L", 3: "RGB", 4: "RGBA"}[image.shape[2] if image.ndim == 3 else 2]
            np.testing.assert_array_equal(np.asarray(im), image)
        assert not list(tmp_path.glob("*.tmp"))


def test_bytes_are_deterministic_and_minimal(tmp_path):
    image = sample_images()[0]
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    write_png(a, image)
    write_png(b, image.copy())
    assert a.read_bytes() == b.read_bytes()
    assert chunk_types(a) == [b"IHDR", b"IDAT", b"IEND"]  # no time, text or gamma chunks
    write_png(b, image, level=9)
    assert a.read_bytes() != b.read_bytes()  # the level is honoured
    data = a.read_bytes()
    (size,) = struct.unpack(">I", data[33:37])
    raw = zlib.decompress(data[41 : 41 + size])
    assert len(raw) == 45 * (1 + 61 * 3) and raw[0] == FILTERS["up"]


def test_overwrites_existing_file(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"stale")
    write_png(path, sample_images()[0])
    with Image.open(path) as im:
        assert im.size == (61, 45)


@pytest.mark.parametrize(
    ("image", "kwargs", "message"),
    [
        (np.zeros((4, 4, 3), np.float32), {}, "dtype is float32, expected uint8"),
        (np.zeros((4, 4, 2), np.uint8), {}, r"shape is \(4, 4, 2\), expected"),
        (np.zeros((4,), np.uint8), {}, r"shape is \(4,\), expected"),
        (np.zeros((0, 4, 3), np.uint8), {}, "non-empty"),
        (np.zeros((4, 4, 3), np.uint8), {"filter_type": "best"}, "filter_type is 'best'"),
        (np.zeros((4, 4, 3), np.uint8), {"level": 10}, "zlib level is 10"),
    ],
)
def test_bad_input_names_path(tmp_path, image, kwargs, message):
    path = tmp_path / "bad.png"
    with pytest.raises(ValueError, match=rf"{path}: .*{message}"):
        write_png(path, image, **kwargs)
    assert not path.exists()


def test_linear_to_srgb8_matches_formula():
    rng = np.random.default_rng(0)
    # the linear value where each level starts, and float32 neighbours around it
    encoded = (np.arange(1, 256) - 0.5) / 255
    starts = np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)
    near = starts.astype(np.float32)[:, None]
    for _ in range(4):
        near = np.concatenate([np.nextafter(near[:, :1], 0), near, np.nextafter(near[:, -1:], 2)], 1)
    every_nth = (np.arange(0, 0x3F800001, 997, dtype=np.uint32)).view(np.float32)  # float32 in [0, 1]
    special = np.float32([0, -0.0, 1, -1, 2, 1e-30, np.nan, np.inf, -np.inf, 0.0031308, 0.5, 0.18])
    values = np.concatenate([near.ravel(), every_nth, special, rng.random(100_000, dtype=np.float32) * 1.2 - 0.1])
    got = linear_to_srgb8(values)
    assert got.dtype == np.uint8 and got.shape == values.shape
    np.testing.assert_array_equal(got, reference_srgb8(values))
    assert list(linear_to_srgb8(np.float32([0.18, 0.5, 0.0031308, 0.001]))) == [118, 188, 10, 3]
    assert list(linear_to_srgb8(np.float32([np.nan, np.inf, -np.inf, -1]))) == [0, 255, 0, 0]
    image = rng.random((5, 7, 3), dtype=np.float32)
    np.testing.assert_array_equal(linear_to_srgb8(image), reference_srgb8(image))
    np.testing.assert_array_equal(linear_to_srgb8(image.astype(np.float64)), reference_srgb8(image))


def check_against_blender_png(out) -> None:
    """Blender's Standard PNG vs our encoding of the EXR from the same render: at most one level
    apart, and only where the exact value is within a hair of a half level (Blender's fast
    pow() rounds the other way there)."""
    linear = np.stack([find_channel(read_exr(out / "multilayer_NONE.exr"), "Combined", c) for c in "RGB"], -1)
    with Image.open(out / "standard.png") as im:
        assert im.mode == "RGB" and im.size == RENDER_SIZE
        blender = np.asarray(im)
    ours = linear_to_srgb8(linear)
    diff = ours.astype(int) - blender
    assert np.abs(diff).max() <= 1
    assert (diff != 0).mean() < 0.01
    x = np.clip(linear[diff != 0].astype(np.float64), 0, 1)
    exact = 255 * srgb_encode(x)
    assert np.all(np.abs(exact - np.floor(exact) - 0.5) < 0.005)
    # the frame exercised the linear toe, mid tones and clipping
    assert blender.min() <= 10 and blender.max() == 255 and len(np.unique(blender)) > 200
    assert (linear < 0.0031308).sum() > 100


@pytest.mark.slow
def test_matches_blender_standard_view(bpy_render):
    check_against_blender_png(bpy_render)


@pytest.mark.slow
@pytest.mark.blender_binary
def test_matches_stock_blender_standard_view(blender_render):
    check_against_blender_png(blender_render)
