"""Drop start poses (pure): seeded per image, apart at release, inside the support, piled on request."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blender.placement.drop import DISTRACTOR_RADIUS, start_poses
from common.render_spec import load_spec
from pipeline.rendering.blender_runner import make_spec
from pipeline.schema import ParamsError, load_params
from tests.support.params import tiny_params, write_params
from tests.support.specs import sampled

RADII = {"glue_tube": 0.05, "box": 0.065}


def _spec(tmp_path, drop: dict | None = None, spread: float = 0.1, **render):
    p = tiny_params()
    p["render"].update(
        placement={"mode": "drop", "spread": spread, "drop": drop or {}}, distractors={"count": [2, 3]}, **render
    )
    for rig in p["rigs"].values():
        rig["instances"] = [1, 3]
    pfile = write_params(tmp_path / "params.yaml", p)
    return make_spec(load_params(pfile), pfile)


def _bodies(scene: dict) -> list[tuple[np.ndarray, float]]:
    out = [(np.array(o["location"]), RADII[o["rig"]] * o["scale"]) for o in scene["objects"]]
    out += [(np.array(d["location"]), DISTRACTOR_RADIUS[d["shape"]] * d["size"]) for d in scene["distractors"]]
    return out


def test_same_image_same_start_whatever_the_order(tmp_path):
    spec = _spec(tmp_path)
    forward = [start_poses(load_spec(spec), i, 0, sampled(spec, i, RADII), RADII) for i in range(5)]
    backward = [start_poses(load_spec(spec), i, 0, sampled(spec, i, RADII), RADII) for i in reversed(range(5))][::-1]
    assert forward == backward
    retry = start_poses(load_spec(spec), 2, 1, sampled(spec, 2, RADII), RADII)
    assert retry["objects"][0]["location"] != forward[2]["objects"][0]["location"]
    assert retry["drop"]["attempt"] == 1
    # sampled scenes stay as they are: everything but poses is today's
    base = sampled(spec, 2, RADII)
    assert [o["materials"] for o in forward[2]["objects"]] == [o["materials"] for o in base["objects"]]
    assert forward[2]["camera"] == base["camera"] and "drop" not in base


@pytest.mark.parametrize("piles", [False, True, [2, 3]])
def test_released_apart_above_the_support(tmp_path, piles):
    spec = _spec(tmp_path, {"piles": piles, "height": [0.01, 0.03]})
    for i in range(20):
        scene = start_poses(load_spec(spec), i, 0, sampled(spec, i, RADII), RADII)
        bodies = _bodies(scene)
        for k, (p, r) in enumerate(bodies):
            assert p[2] - r >= 0.01 - 1e-12  # bounding sphere above the support by the drop height at least
            for q, rq in bodies[:k]:
                assert np.linalg.norm(p - q) >= r + rq - 1e-9  # no interpenetration at release
        assert len(scene["drop"]["bodies"]) == len(bodies)


def test_piles_stack_and_singles_do_not(tmp_path):
    def stacked(piles) -> int:
        spec = _spec(tmp_path, {"piles": piles, "height": [0.01, 0.01]}, spread=0.4)
        count = 0
        for i in range(20):
            bodies = _bodies(start_poses(load_spec(spec), i, 0, sampled(spec, i, RADII), RADII))
            count += sum(p[2] - r > 0.011 for p, r in bodies)  # raised over another body
        return count

    assert stacked(True) > 80  # all in one pile: most bodies start on top of another
    assert stacked(False) < stacked(True) / 4  # apart, when the spread leaves room


def test_tray_keeps_bodies_inside(tmp_path):
    spec = _spec(tmp_path, {"support": {"kind": "tray", "size": [0.3, 0.2]}})
    for i in range(20):
        scene = start_poses(load_spec(spec), i, 0, sampled(spec, i, RADII), RADII)
        for p, r in _bodies(scene):
            assert abs(p[0]) <= max(0.0, 0.15 - r) + 1e-12 and abs(p[1]) <= max(0.0, 0.1 - r) + 1e-12
        assert set(scene["drop"]["support"]["material"]) >= {"color", "roughness"}


def test_upright_rigs_start_upright(tmp_path):
    spec = _spec(tmp_path)
    spec["rigs"]["box"]["pose"] = {"mode": "upright", "tilt_deg": 5.0}
    for i in range(10):
        scene = start_poses(load_spec(spec), i, 0, sampled(spec, i, RADII), RADII)
        for o in scene["objects"]:
            if o["rig"] == "box":
                w, x, y, z = o["rotation"]
                assert 1 - 2 * (x * x + y * y) >= math.cos(math.radians(5)) - 1e-9


def test_piles_need_at_least_one_object(tmp_path):
    p = tiny_params()
    p["render"]["placement"] = {"mode": "drop", "drop": {"piles": [0, 2]}}
    with pytest.raises(ParamsError, match=r"render.placement.drop: piles: expected \[min, max\] objects per pile"):
        load_params(write_params(tmp_path / "p.yaml", p))
