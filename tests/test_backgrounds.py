"""Backgrounds: pure numpy patterns, and a photo folder composited behind a real render."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from blender.world import backgrounds
from blender.world.background_draw import PATTERNS
from pipeline.rendering.render_dataset import main as render_main
from tests.support import needs_bpy
from tests.support.params import tiny_params, write_params
from tests.support.renders import objects_mask, srgb_encode


@pytest.mark.parametrize("pattern", PATTERNS)
def test_patterns_are_seeded_and_in_range(pattern):
    a = backgrounds.procedural(pattern, 5, 40, 60)
    assert a.shape == (40, 60, 3) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    assert np.array_equal(a, backgrounds.procedural(pattern, 5, 40, 60))
    assert not np.array_equal(a, backgrounds.procedural(pattern, 6, 40, 60))


def test_composite_is_premultiplied_over():
    fg = np.array([[[0.2, 0.1, 0.0, 0.5]]], np.float32)  # half-covered pixel, premultiplied
    bg = np.array([[[1.0, 1.0, 1.0]]], np.float32)
    assert backgrounds.composite(fg, bg)[0, 0] == pytest.approx([0.7, 0.6, 0.5])


@needs_bpy
@pytest.mark.slow
def test_photo_folder_shows_behind_the_objects(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 40)).save(photos / "red.png")
    params = tiny_params(num_images=2, shard_size=2)
    params["render"].update(
        background={"hdri": 0, "procedural": 0, "photos": 1, "photos_dir": "photos"}, distractors={"count": [0, 0]}
    )
    pfile = write_params(tmp_path / "params.yaml", params)
    assert render_main(["--params", str(pfile), "--out", str(tmp_path / "out")]) == 0
    data = json.loads((tmp_path / "out" / "annotations.json").read_text())
    for image in data["images"]:
        rgb = np.asarray(Image.open(tmp_path / "out" / image["file_name"]))
        meta = json.loads((tmp_path / "out" / image["meta_file"]).read_text())
        assert meta["background"]["kind"] == "photos"
        # pixels far from every object show the photo exactly (objects below min size aside)
        free = ~objects_mask(data, image)
        assert (np.abs(rgb[free].astype(int) - [200, 30, 40]).max(axis=1) <= 1).mean() > 0.5


@needs_bpy
@pytest.mark.slow
def test_brightness_reaches_the_rendered_background(tmp_path):
    """The drawn level travels from params through the scene sample to the written PNG."""
    params = tiny_params(num_images=2, shard_size=2)
    params["render"].update(
        background={"hdri": 0, "procedural": 1, "brightness": [0.85, 0.85], "saturation": [0, 0]},
        distractors={"count": [0, 0]},
    )
    pfile = write_params(tmp_path / "params.yaml", params)
    assert render_main(["--params", str(pfile), "--out", str(tmp_path / "out")]) == 0
    data = json.loads((tmp_path / "out" / "annotations.json").read_text())
    for image in data["images"]:
        rgb = np.asarray(Image.open(tmp_path / "out" / image["file_name"])).astype(float) / 255
        meta = json.loads((tmp_path / "out" / image["meta_file"]).read_text())
        assert meta["background"]["brightness"] == 0.85
        assert abs(rgb[~objects_mask(data, image)].mean() - 0.85) < 0.03  # objects' soft edges aside


def test_saturation_pulls_colors_to_grey():
    vivid = backgrounds.procedural("noise", 5, 40, 60)
    grey = backgrounds.procedural("noise", 5, 40, 60, saturation=0.0)
    half = backgrounds.procedural("noise", 5, 40, 60, saturation=0.5)
    assert np.ptp(grey, axis=-1).max() < 1e-6  # R = G = B
    chroma = [float(np.ptp(a, axis=-1).mean()) for a in (grey, half, vivid)]
    assert chroma[0] < chroma[1] < chroma[2]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("level", [0.1, 0.5, 0.92])
def test_brightness_sets_the_mean_srgb_level_and_keeps_the_texture(pattern, level):
    """White desks and dark floors on demand: the sRGB mean (IEC 61966-2-1, computed here) is the
    asked level, and the pattern's texture survives (it is not a flat colour)."""
    drawn = backgrounds.procedural(pattern, 5, 40, 60)
    lin = backgrounds.procedural(pattern, 5, 40, 60, brightness=level)
    srgb = srgb_encode(lin)
    assert abs(float(srgb.mean()) - level) < 0.005
    assert lin.min() >= 0 and lin.max() <= 1
    assert float(srgb.std()) > 0.1 * float(srgb_encode(drawn).std())
    assert np.array_equal(backgrounds.procedural(pattern, 5, 40, 60, brightness=None), drawn)
