"""blender/rigging/posing.py and its hook in sample_scene: joint angles, action blends and shape keys drawn
per image within their ranges, from their own random streams, and nothing drawn for other rigs."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from blender.random_draws import rng_for
from blender.rigging.posing import sample_articulation
from pipeline.rendering.blender_runner import make_spec
from pipeline.schema import load_params
from tests.support import ROOT
from tests.support.params import write_params
from tests.support.specs import sampled, typed_rig

RIG = {
    "mesh": {"type": "file", "path": "arm.blend"},
    "keypoints": [{"name": "tip", "bone": "b2"}],
    "pose_bones": {
        "upper": {"x": {"min": -30.0, "max": 60.0}, "y": None, "z": {"min": 5.0, "max": 5.0}, "order": "XYZ"},
        "lower": {"x": None, "y": {"min": 0.0, "max": 90.0}, "z": None, "order": "ZYX"},
    },
    "shape_keys": {"squash": {"min": 0.2, "max": 0.7}},
    "pose_actions": {"names": ["open", "closed", "half"], "blend": True, "frame": None},
}


def ks_uniform(values: np.ndarray, lo: float, hi: float) -> float:
    """Kolmogorov-Smirnov distance between the values' empirical CDF and the uniform one on [lo, hi]."""
    x = np.sort((values - lo) / (hi - lo))
    n = len(x)
    return float(max((np.arange(1, n + 1) / n - x).max(), (x - np.arange(n) / n).max()))


def test_joint_angles_shape_keys_and_blends_follow_their_ranges():
    rig = typed_rig(RIG)
    draws = [sample_articulation(rng_for(3, i, "pose_bones"), rng_for(3, i, "shape_keys"), rig) for i in range(3000)]
    upper_x = np.degrees([d["bones"]["upper"][0] for d in draws])
    lower_y = np.degrees([d["bones"]["lower"][1] for d in draws])
    squash = np.array([d["shape_keys"]["squash"] for d in draws])
    blend = np.array([d["blend"] for d in draws])
    # uniform on each range, reaching both ends
    for values, lo, hi in ((upper_x, -30, 60), (lower_y, 0, 90), (squash, 0.2, 0.7), (blend, 0, 1)):
        assert values.min() >= lo and values.max() <= hi
        assert values.min() < lo + 0.02 * (hi - lo) and values.max() > hi - 0.02 * (hi - lo)
        assert ks_uniform(values, lo, hi) < 1.63 / math.sqrt(len(values))  # KS test at the 1 % level
    assert all(d["bones"]["upper"][2] == pytest.approx(math.radians(5)) for d in draws)  # [5, 5]: fixed
    assert all(d["bones"]["upper"][1] == 0 and d["bones"]["lower"][0] == 0 for d in draws)  # axes left out
    firsts = [d["actions"][0] for d in draws]
    assert {a: firsts.count(a) for a in RIG["pose_actions"]["names"]} == pytest.approx(
        {a: 1000 for a in RIG["pose_actions"]["names"]}, rel=0.12
    )
    assert np.corrcoef(upper_x, squash)[0, 1] ** 2 < 0.01  # independent streams


def test_one_action_without_blend():
    rig = typed_rig({**RIG, "pose_bones": {}, "shape_keys": {}, "pose_actions": {"names": ["a", "b"], "blend": False}})
    d = sample_articulation(np.random.default_rng(0), np.random.default_rng(1), rig)
    assert len(d["actions"]) == 1 and d["blend"] == 0.0 and "bones" not in d


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    """The shipped glue tube + examples/box, and the same with a posed file rig added."""
    tmp = tmp_path_factory.mktemp("posing")
    (tmp / "arm.blend").write_bytes(b"")  # only its name is read here
    data = load_params(ROOT / "params.yaml").model_dump(mode="json")
    plain = write_params(tmp / "plain.yaml", {"seed": 5, "rigs": data["rigs"]})
    rigs = copy.deepcopy(data["rigs"])
    rigs["arm"] = {
        "mesh": {"type": "file", "path": "arm.blend"},
        "keypoints": [{"name": "tip", "bone": "b2"}],
        "instances": [1, 2],
        "pose_bones": {"b1": {"x": [-45, 45]}},
        "shape_keys": {"k": [0, 1]},
    }
    posed = write_params(tmp / "posed.yaml", {"seed": 5, "rigs": rigs})
    return make_spec(load_params(plain), plain), make_spec(load_params(posed), posed)


def test_a_posed_rig_draws_from_its_own_streams_and_leaves_every_other_draw(specs):
    plain, posed = specs
    radii = {"glue_tube": 0.05, "arm": 0.1}
    for i in range(20):
        a, b = sampled(plain, i, radii), sampled(posed, i, radii)
        assert all("articulation" not in o for o in a["objects"])
        assert b["camera"] == a["camera"] and b["lights"] == a["lights"] and b["world"] == a["world"]
        assert b["objects"][: len(a["objects"])] == a["objects"]  # the rigs before it are untouched
        arms = [o for o in b["objects"] if o["rig"] == "arm"]
        assert arms and all(-math.pi / 4 <= o["articulation"]["bones"]["b1"][0] <= math.pi / 4 for o in arms)
        assert all(0 <= o["articulation"]["shape_keys"]["k"] <= 1 for o in arms)
    first = [sampled(posed, i, radii) for i in range(6)]
    assert first == [sampled(posed, i, radii) for i in reversed(range(6))][::-1]  # any order, any shard


def test_spec_of_a_rig_without_the_new_keys_is_unchanged(specs):
    plain, _ = specs
    for rig in plain["rigs"].values():
        assert not {"pose_bones", "pose_actions", "shape_keys", "symmetry"} & set(rig)
        assert all(not {"bone", "bone_end"} & set(k) for k in rig["keypoints"])
