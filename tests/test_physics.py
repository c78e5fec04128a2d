"""Physics placement through Blender's rigid-body world, checked against geometry written here:
box corners from the box's size, tube vertices from its shape, box overlaps by separating axes."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from blender.rigging.shapes import glue_tube
from pipeline.rendering.render_dataset import main as render_main
from tests.support import needs_bpy
from tests.support.params import tiny_params, write_params
from tests.support.renders import layouts

pytestmark = [pytest.mark.slow, needs_bpy]

SUPPORT_MM = 1.0  # lowest vertex within 1 mm of the support
OVERLAP_MM = 1.0  # no two objects interpenetrate by more than 1 mm


def _params(n: int, **placement) -> dict:
    p = tiny_params(num_images=n, shard_size=n)
    p["render"].update(placement={"mode": "drop", **placement}, distractors={"count": [0, 0]})
    return p


def _box_corners(size) -> np.ndarray:
    return np.array(list(itertools.product(*[(-s / 2, s / 2) for s in size])))


def _world(matrix, local: np.ndarray) -> np.ndarray:
    m = np.array(matrix)
    return local @ m[:3, :3].T + m[:3, 3]


def _penetration(a_matrix, a_size, b_matrix, b_size) -> float:
    """Penetration depth of two oriented boxes by the separating axis theorem (0 when apart)."""
    a, b = np.array(a_matrix), np.array(b_matrix)
    ha, hb = (
        np.linalg.norm(a[:3, :3], axis=0) * np.array(a_size) / 2,
        np.linalg.norm(b[:3, :3], axis=0) * np.array(b_size) / 2,
    )
    ua, ub = a[:3, :3] / np.linalg.norm(a[:3, :3], axis=0), b[:3, :3] / np.linalg.norm(b[:3, :3], axis=0)
    axes = [ua[:, i] for i in range(3)] + [ub[:, i] for i in range(3)]
    axes += [np.cross(ua[:, i], ub[:, j]) for i in range(3) for j in range(3)]
    depth = np.inf
    for axis in axes:
        n = np.linalg.norm(axis)
        if n < 1e-9:
            continue
        axis = axis / n
        ra = sum(abs(ua[:, i] @ axis) * ha[i] for i in range(3))
        rb = sum(abs(ub[:, i] @ axis) * hb[i] for i in range(3))
        overlap = ra + rb - abs((b[:3, 3] - a[:3, 3]) @ axis)
        if overlap <= 0:
            return 0.0
        depth = min(depth, overlap)
    return float(depth)


def test_dropped_objects_rest_on_the_support(tmp_path):
    params = _params(10, spread=0.3)
    rigs = params["rigs"]
    box = _box_corners(rigs["box"]["mesh"]["size"])
    m = rigs["glue_tube"]["mesh"]
    tube = glue_tube(m["length"], m["radius"], m["cap_length"], m["cap_radius"], 0.25).vertices
    lowest, steps = [], []
    for lay in layouts(tmp_path, params):
        steps.append(lay["drop"]["steps"])
        for o in lay["objects"]:
            lowest.append(_world(o["object_to_world"], box if o["rig"] == "box" else tube)[:, 2].min())
    lowest = np.array(lowest) * 1000
    assert len(lowest) >= 20
    assert np.abs(lowest).max() < SUPPORT_MM, lowest
    assert min(steps) > 5  # they fell: released above the support


def test_mesh_collision_settles_on_the_support(tmp_path):
    """`collision: mesh` (Bullet's concave triangle meshes: slow, and they jitter at rest)."""
    params = _params(2, spread=0.2)
    params["rigs"] = {
        "glue_tube": {**params["rigs"]["glue_tube"], "instances": [1, 1], "physics": {"collision": "mesh"}}
    }
    m = params["rigs"]["glue_tube"]["mesh"]
    tube = glue_tube(m["length"], m["radius"], m["cap_length"], m["cap_radius"], 0.25).vertices
    for lay in layouts(tmp_path, params):
        low = _world(lay["objects"][0]["object_to_world"], tube)[:, 2].min() * 1000
        assert abs(low) < SUPPORT_MM, low


def test_piles_lean_on_each_other_without_interpenetrating(tmp_path):
    params = _params(8, spread=0.05, drop={"piles": True, "height": [0.0, 0.01]})
    params["rigs"] = {"box": {**params["rigs"]["box"], "instances": [3, 5], "scale": [0.6, 1.0]}}
    size = params["rigs"]["box"]["mesh"]["size"]
    raised, worst, boxes = 0, 0.0, 0
    images = layouts(tmp_path, params)
    for lay in images:
        mats = [o["object_to_world"] for o in lay["objects"]]
        boxes += len(mats)
        for m in mats:
            low = _world(m, _box_corners(size))[:, 2].min() * 1000
            assert low > -SUPPORT_MM  # nothing sinks through the support
            raised += low > 5  # resting on another box
        for a, b in itertools.combinations(mats, 2):
            worst = max(worst, _penetration(a, size, b, size) * 1000)
    assert worst < OVERLAP_MM, worst
    assert raised >= len(images) // 2  # the piles are piles: boxes rest on boxes


def test_tray_holds_what_falls_into_it(tmp_path):
    params = _params(6, drop={"support": {"kind": "tray", "size": [0.4, 0.3], "wall_height": 0.03}})
    size = params["rigs"]["box"]["mesh"]["size"]
    for lay in layouts(tmp_path, params):
        assert lay["drop"]["support"]["kind"] == "tray"
        for o in lay["objects"]:
            if o["rig"] == "box":
                w = _world(o["object_to_world"], _box_corners(size))
                assert (np.abs(w[:, 0]) <= 0.2 + 1e-3).all() and (np.abs(w[:, 1]) <= 0.15 + 1e-3).all()
                assert w[:, 2].min() > -SUPPORT_MM / 1000


def test_same_settled_poses_and_bytes_whatever_the_sharding(tmp_path):
    results = {}
    for shard_size in (4, 1):
        p = tiny_params(num_images=4, shard_size=shard_size, workers=1)
        p["render"].update(placement={"mode": "drop", "drop": {"piles": [1, 3]}}, background={"shadows": True})
        out = tmp_path / f"shards{shard_size}"
        assert render_main(["--params", str(write_params(tmp_path / f"p{shard_size}.yaml", p)), "--out", str(out)]) == 0
        metas = [json.loads((out / "meta" / f"{i:06d}.json").read_text()) for i in range(4)]
        results[shard_size] = (
            (out / "annotations.json").read_bytes(),
            [(out / "images" / f"{i:06d}.png").read_bytes() for i in range(4)],
            [[o["object_to_world"] for o in m["objects"]] for m in metas],
            [m["drop"]["steps"] for m in metas],
        )
        stats = json.loads((out / "stats.json").read_text())
        assert stats["drop"]["images"] == 4 and stats["drop"]["steps_max"] == max(m["drop"]["steps"] for m in metas)
    assert results[4] == results[1]


def test_a_drop_that_never_settles_names_the_image(tmp_path, capsys):
    p = _params(1, drop={"max_steps": 10, "retries": 1, "height": [0.2, 0.2]})
    code = render_main(["--params", str(write_params(tmp_path / "p.yaml", p)), "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "render.placement.drop: image 0: the drop did not settle in 2 attempt(s)" in err
    assert "still moving after 10 frames" in err
