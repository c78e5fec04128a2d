"""Per-image sampling: deterministic per (seed, index), independent of order, within ranges."""

import math

import numpy as np
import pytest

from blender.random_draws import random_rotation, upright_rotation
from pipeline.rendering.blender_runner import make_spec
from pipeline.schema import load_params
from tests.support import ROOT
from tests.support.specs import sampled

RADII = {"glue_tube": 0.05, "box": 0.065}


@pytest.fixture(scope="module")
def spec():
    return make_spec(load_params(ROOT / "params.yaml"), ROOT / "params.yaml")


def test_same_index_same_scene_whatever_the_order(spec):
    forward = [sampled(spec, i, RADII) for i in range(6)]
    backward = [sampled(spec, i, RADII) for i in reversed(range(6))][::-1]
    assert forward == backward
    assert forward[0] != forward[1]


def test_seed_changes_scenes(spec):
    other = dict(spec, seed=spec["seed"] + 1)
    assert sampled(spec, 0, RADII) != sampled(other, 0, RADII)


def test_changing_distractors_leaves_cameras_and_objects(spec):
    other = {
        **spec,
        "render": {**spec["render"], "distractors": {**spec["render"]["distractors"], "count": {"min": 5, "max": 5}}},
    }
    a, b = sampled(spec, 3, RADII), sampled(other, 3, RADII)
    assert a["camera"] == b["camera"] and a["objects"] == b["objects"]
    assert len(b["distractors"]) == 5


def test_values_stay_in_their_ranges(spec):
    cam = spec["render"]["camera"]
    for i in range(40):
        s = sampled(spec, i, RADII)
        c2w = np.array(s["camera"]["camera_to_world"])
        dist = np.linalg.norm(c2w[:3, 3])
        assert cam["distance"]["min"] - 0.15 <= dist <= cam["distance"]["max"] + 0.15  # aim jitter
        assert cam["focal_mm"]["min"] <= s["camera"]["focal_mm"] <= cam["focal_mm"]["max"]
        assert [s["width"], s["height"]] in [list(r) for r in spec["render"]["resolutions"]]
        for name, rig in spec["rigs"].items():
            n = sum(o["rig"] == name for o in s["objects"])
            assert rig["instances"]["min"] <= n <= rig["instances"]["max"]
        for o in s["objects"]:
            xy = math.hypot(*o["location"][:2])
            assert xy <= spec["render"]["placement"]["spread"] + 1e-9
            assert np.linalg.norm(o["rotation"]) == pytest.approx(1)


def test_upright_rotation_keeps_tilt_within_bound():
    rng = np.random.default_rng(0)
    for _ in range(200):
        w, x, y, z = upright_rotation(rng, math.radians(20))
        # the object's z axis after rotation: third column of the rotation matrix
        z_axis_z = 1 - 2 * (x * x + y * y)
        assert z_axis_z >= math.cos(math.radians(20)) - 1e-9


def test_random_rotation_is_uniform_enough():
    rng = np.random.default_rng(1)
    zs = []
    for _ in range(4000):
        w, x, y, z = random_rotation(rng)
        zs.append(1 - 2 * (x * x + y * y))  # z of the rotated z axis: uniform on [-1, 1]
    assert abs(np.mean(zs)) < 0.05
    assert np.histogram(zs, bins=4, range=(-1, 1))[0].min() > 850


def test_background_patterns_and_saturation_are_drawn_as_asked(spec):
    """Desk-like backgrounds for sim-to-real: only the listed patterns, greyed by the drawn share."""
    bg = {
        **spec["render"]["background"],
        "hdri": 0.0,
        "procedural": 1.0,
        "photos": 0.0,
        "patterns": ["granite", "wood"],
        "saturation": {"min": 0.0, "max": 0.3},
    }
    other = {**spec, "render": {**spec["render"], "background": bg}}
    drawn = [sampled(other, i, RADII)["background"] for i in range(40)]
    assert {d["pattern"] for d in drawn} == {"granite", "wood"}
    assert all(0.0 <= d["saturation"] <= 0.3 for d in drawn)
    assert "saturation" not in sampled(spec, 0, RADII)["background"]  # default renders keep their bytes
    assert sampled(other, 3, RADII)["camera"] == sampled(spec, 3, RADII)["camera"]


def test_background_brightness_is_drawn_as_asked_and_moves_no_other_draw(spec):
    bg = {**spec["render"]["background"], "hdri": 0.0, "procedural": 1.0, "photos": 0.0}
    plain = {**spec, "render": {**spec["render"], "background": bg}}
    bright = {**spec, "render": {**spec["render"], "background": {**bg, "brightness": {"min": 0.6, "max": 0.95}}}}
    for i in range(30):
        a, b = sampled(plain, i, RADII), sampled(bright, i, RADII)
        assert 0.6 <= b["background"].pop("brightness") <= 0.95
        assert a == b  # every other draw, background seed and pattern included, is unchanged
    assert "brightness" not in sampled(spec, 0, RADII)["background"]


def test_long_side_sensor_fit_keeps_portrait_objects_as_large_as_landscape(spec):
    """A phone turned to portrait: focal length in pixels follows the long side, not the width."""
    from blender.optics.camera import intrinsics

    render = {**spec["render"], "resolutions": [[400, 224], [224, 400]]}
    fits = {}
    for fit in ("width", "long_side"):
        other = {**spec, "render": {**render, "camera": {**render["camera"], "sensor_fit": fit}}}
        fits[fit] = [sampled(other, i, RADII) for i in range(30)]
    assert {(s["width"], s["height"]) for s in fits["long_side"]} == {(400, 224), (224, 400)}
    for w, lo in zip(fits["width"], fits["long_side"]):
        cam = lo["camera"]
        f_px = intrinsics(cam["focal_mm"], cam["sensor_mm"], lo["width"], lo["height"])[0, 0]
        assert f_px == pytest.approx(cam["focal_mm"] / 36.0 * max(lo["width"], lo["height"]))
        f_width = intrinsics(w["camera"]["focal_mm"], w["camera"]["sensor_mm"], w["width"], w["height"])[0, 0]
        assert f_width == pytest.approx(cam["focal_mm"] / 36.0 * w["width"])  # the default: width spans the sensor
        assert {k: v for k, v in cam.items() if k != "sensor_mm"} == {
            k: v for k, v in w["camera"].items() if k != "sensor_mm"
        }
