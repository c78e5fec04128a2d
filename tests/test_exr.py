"""blender/codecs/exr.py against independent readers: OpenCV (single-part files) and, where installed,
the OpenEXR Python package (multi-part, UINT, data windows), on files written by OpenCV, the
OpenEXR package, the `bpy` package (Blender 5: multi-part) and a stock Blender (3.x: single-part).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")  # before cv2 is imported
import cv2  # noqa: E402

from blender.codecs.exr import ExrError, find_channel, read_exr  # noqa: E402
from tests.support.exr_renders import CUBE_INDEX, RENDER_SIZE  # noqa: E402


def cv2_channels(path: Path) -> dict[str, np.ndarray]:
    """A single-part R/G/B(/A) EXR as OpenCV reads it, keyed by channel name."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"OpenCV could not read {path}"
    names = "BGRA"[: image.shape[2]]
    return {name: image[..., i] for i, name in enumerate(names)}


def openexr_channels(path: Path) -> dict[str, np.ndarray]:
    """Every channel of every part as the OpenEXR package reads it (data window only)."""
    openexr = pytest.importorskip("OpenEXR")
    with openexr.File(str(path), separate_channels=True) as f:
        return {k: c.pixels.copy() for p in f.parts for k, c in p.channels.items()}


def smooth_image(height: int, width: int, channels: int) -> np.ndarray:
    """Float32 image with a wide value range (negative, tiny, > 1) that still compresses."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = [np.sin(x / 7 + c) * np.cos(y / 5) * 10 ** (c - 1) for c in range(channels)]
    return (np.round(np.stack(planes, axis=-1) * 64) / 64).astype(np.float32)  # few mantissa bits


# --- single-part files written by OpenCV ---------------------------------------------------

CV2_CODECS = {
    "NONE": cv2.IMWRITE_EXR_COMPRESSION_NO,
    "ZIPS": cv2.IMWRITE_EXR_COMPRESSION_ZIPS,
    "ZIP": cv2.IMWRITE_EXR_COMPRESSION_ZIP,
}
CV2_TYPES = {"FLOAT": cv2.IMWRITE_EXR_TYPE_FLOAT, "HALF": cv2.IMWRITE_EXR_TYPE_HALF}


@pytest.mark.parametrize("codec", CV2_CODECS)
@pytest.mark.parametrize("pixel_type", CV2_TYPES)
@pytest.mark.parametrize("shape", [(37, 23, 3), (1, 5, 4), (40, 1, 3), (64, 48, 4)])
@pytest.mark.parametrize("content", ["smooth", "noise"])
def test_single_part_matches_opencv(tmp_path, codec, pixel_type, shape, content):
    rng = np.random.default_rng(0)
    if content == "smooth":
        image = smooth_image(*shape)
    else:  # incompressible: ZIP chunks that do not shrink are stored raw
        image = (rng.standard_normal(shape) * 100).astype(np.float32)
    path = tmp_path / "x.exr"
    params = [cv2.IMWRITE_EXR_TYPE, CV2_TYPES[pixel_type], cv2.IMWRITE_EXR_COMPRESSION,
              CV2_CODECS[codec]]  # fmt: skip
    assert cv2.imwrite(str(path), image, params)
    expected = cv2_channels(path)
    got = read_exr(path)
    assert sorted(got) == sorted(expected)
    for name, values in expected.items():
        assert got[name].dtype == np.float32 and got[name].shape == shape[:2]
        np.testing.assert_array_equal(got[name], values, err_msg=f"channel {name}")
    if pixel_type == "FLOAT":  # and OpenCV gave back what was written
        np.testing.assert_array_equal(got["R"], image[..., 2])


def test_zip_is_decoded_not_only_stored(tmp_path):
    """The smooth image really compresses, so the zlib/predictor path ran."""
    image = smooth_image(64, 48, 3)
    sizes = {}
    for codec, flag in CV2_CODECS.items():
        path = tmp_path / f"{codec}.exr"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_EXR_COMPRESSION, flag])
        sizes[codec] = path.stat().st_size
        np.testing.assert_array_equal(read_exr(path)["G"], image[..., 1])
    assert sizes["ZIP"] < 0.8 * sizes["NONE"] and sizes["ZIPS"] < 0.8 * sizes["NONE"]


@pytest.mark.parametrize("codec", ["PIZ", "RLE", "PXR24", "B44", "DWAA"])
def test_unsupported_codec_names_file_and_codec(tmp_path, codec):
    path = tmp_path / "x.exr"
    flag = getattr(cv2, f"IMWRITE_EXR_COMPRESSION_{codec}")
    assert cv2.imwrite(str(path), smooth_image(16, 16, 3), [cv2.IMWRITE_EXR_COMPRESSION, flag])
    with pytest.raises(ExrError, match=rf"{path}.*compression {codec} is not supported"):
        read_exr(path)


def test_not_an_exr_and_truncated(tmp_path):
    bad = tmp_path / "bad.exr"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ExrError, match=rf"{bad}.*not an OpenEXR file"):
        read_exr(bad)
    path = tmp_path / "x.exr"
    cv2.imwrite(str(path), smooth_image(32, 16, 3), [cv2.IMWRITE_EXR_COMPRESSION, 0])
    data = path.read_bytes()
    for cut in (40, len(data) // 2, len(data) - 3):
        short = tmp_path / f"short{cut}.exr"
        short.write_bytes(data[:cut])
        with pytest.raises(ExrError, match=str(short)):
            read_exr(short)


# --- multi-part, UINT, windows, tiles: written by the OpenEXR package ----------------------


def test_multipart_pixel_types_and_line_order(tmp_path):
    openexr = pytest.importorskip("OpenEXR")
    rng = np.random.default_rng(7)
    h, w = 37, 29
    index = rng.integers(0, 2**20, (h, w)).astype(np.uint32)
    half = rng.standard_normal((h, w)).astype(np.float16)
    full = rng.standard_normal((h, w)).astype(np.float32)
    combined = openexr.Part(
        {"compression": openexr.ZIP_COMPRESSION, "type": openexr.scanlineimage},
        {"L.Combined.R": full, "L.Combined.G": half},
        "L.Combined",
    )
    index_part = openexr.Part(
        {
            "compression": openexr.NO_COMPRESSION,
            "type": openexr.scanlineimage,
            "lineOrder": openexr.DECREASING_Y,  # chunks stored bottom row first
        },
        {"L.Object Index.X": index},
        "L.Object Index",
    )
    zips = openexr.Part(
        {"compression": openexr.ZIPS_COMPRESSION, "type": openexr.scanlineimage},
        {"L.Noisy Image.R": full[::-1].copy()},
        "L.Noisy Image",
    )
    path = tmp_path / "multi.exr"
    with openexr.File([combined, index_part, zips]) as f:
        f.write(str(path))
    got = read_exr(path)
    expected = openexr_channels(path)
    assert sorted(got) == sorted(expected)
    for name, values in expected.items():
        np.testing.assert_array_equal(got[name], values.astype(np.float32), err_msg=name)
    np.testing.assert_array_equal(got["L.Object Index.X"], index.astype(np.float32))
    np.testing.assert_array_equal(got["L.Combined.G"], half.astype(np.float32))
    np.testing.assert_array_equal(find_channel(got, ("IndexOB", "Object Index"), "X"), index)
    kept = read_exr(path, keep=lambda name: "Noisy" not in name and not name.endswith(".G"))
    assert sorted(kept) == ["L.Combined.R", "L.Object Index.X"]
    np.testing.assert_array_equal(kept["L.Combined.R"], full)


def test_data_window_is_placed_in_display_window(tmp_path):
    openexr = pytest.importorskip("OpenEXR")
    values = smooth_image(20, 30, 1)[..., 0]
    header = {
        "compression": openexr.ZIP_COMPRESSION,
        "type": openexr.scanlineimage,
        "dataWindow": (np.array([3, 5], np.int32), np.array([32, 24], np.int32)),
        "displayWindow": (np.array([0, 0], np.int32), np.array([39, 29], np.int32)),
    }
    path = tmp_path / "window.exr"
    with openexr.File(header, {"Y": values}) as f:
        f.write(str(path))
    got = read_exr(path)["Y"]
    assert got.shape == (30, 40)
    np.testing.assert_array_equal(got[5:25, 3:33], openexr_channels(path)["Y"])
    got[5:25, 3:33] = 0
    assert not got.any()


@pytest.mark.parametrize("parts", [1, 2])
def test_tiled_is_rejected(tmp_path, parts):
    openexr = pytest.importorskip("OpenEXR")
    tiles = openexr.TileDescription()
    tiles.xSize = tiles.ySize = 8
    values = np.ones((20, 20), np.float32)
    tiled = {"type": openexr.tiledimage, "tiles": tiles}
    path = tmp_path / "tiled.exr"
    if parts == 1:
        f = openexr.File(tiled, {"Y": values})
    else:
        scan = openexr.Part({"type": openexr.scanlineimage}, {"Y": values}, "a")
        f = openexr.File([scan, openexr.Part(tiled, {"Z": values}, "b")])
    with f:
        f.write(str(path))
    with pytest.raises(ExrError, match=rf"{path}.*tiled"):
        read_exr(path)


# --- find_channel ---------------------------------------------------------------------------


def test_find_channel_across_blender_versions():
    a, b, c = (np.full((2, 2), v, np.float32) for v in (1, 2, 3))
    blender3 = {"ViewLayer.Combined.R": a, "ViewLayer.IndexOB.X": b}
    blender5 = {
        "ViewLayer.Combined.R": a,
        "ViewLayer.Object Index.X": b,
        "ViewLayer.Noisy Image.R": c,
    }
    for channels in (blender3, blender5):
        assert find_channel(channels, ("IndexOB", "Object Index"), "X") is b
        assert find_channel(channels, "Combined", "R") is a
        assert find_channel(channels, ("Combined",), "R", layer="ViewLayer") is a
    assert find_channel({"Combined.R": a}, "Combined", "R") is a  # no layer prefix
    with pytest.raises(ExrError, match=r"no channel matches 'Combined.G'.*ViewLayer.Combined.R"):
        find_channel(blender5, "Combined", "G")
    with pytest.raises(ExrError, match="no channel matches"):
        find_channel(blender5, "Image", "R")  # 'Noisy Image' is another pass
    two_layers = {"A.Combined.R": a, "B.Combined.R": c}
    with pytest.raises(ExrError, match="several channels"):
        find_channel(two_layers, "Combined", "R")
    assert find_channel(two_layers, "Combined", "R", layer="B") is c


# --- real Blender output ----------------------------------------------------------------------


def check_blender_files(out: Path, index_channel: str) -> None:
    """Every multilayer EXR Blender wrote: Combined equals the single-layer EXR (read by OpenCV),
    the object index holds exactly the cube's index and background 0."""
    reference = cv2_channels(out / "combined.exr")
    for codec in ("NONE", "ZIP", "ZIPS"):
        channels = read_exr(out / f"multilayer_{codec}.exr")
        assert f"ViewLayer.{index_channel}.X" in channels
        for c in "RGBA":
            np.testing.assert_array_equal(find_channel(channels, "Combined", c), reference[c])
        index = find_channel(channels, ("IndexOB", "Object Index"), "X")
        assert index.shape == RENDER_SIZE[::-1]
        assert set(np.unique(index)) == {0.0, CUBE_INDEX}
        cube = index == CUBE_INDEX
        assert 0.02 < cube.mean() < 0.5  # the cube, not a stray pixel or the whole frame
        rows, cols = np.nonzero(cube)
        assert abs(cols.mean() - RENDER_SIZE[0] / 2) < RENDER_SIZE[0] / 4  # near the centre
        assert abs(rows.mean() - RENDER_SIZE[1] / 2) < RENDER_SIZE[1] / 4


@pytest.mark.slow
def test_bpy_multipart_files(bpy_render):
    flags = int.from_bytes((bpy_render / "multilayer_NONE.exr").read_bytes()[4:8], "little")
    assert flags & 0x1000, "expected Blender 5 to write a multi-part file"
    check_blender_files(bpy_render, "Object Index")


@pytest.mark.slow
def test_bpy_multipart_matches_openexr(bpy_render):
    for codec in ("NONE", "ZIP"):
        path = bpy_render / f"multilayer_{codec}.exr"
        expected = openexr_channels(path)
        got = read_exr(path)
        assert sorted(got) == sorted(expected)
        for name, values in expected.items():
            np.testing.assert_array_equal(got[name], values, err_msg=name)


@pytest.mark.slow
@pytest.mark.blender_binary
def test_blender_binary_single_part_files(blender_render):
    flags = int.from_bytes((blender_render / "multilayer_NONE.exr").read_bytes()[4:8], "little")
    if flags & 0x1000:
        pytest.skip("this `blender` writes multi-part files; the bpy test covers those")
    check_blender_files(blender_render, "IndexOB")
