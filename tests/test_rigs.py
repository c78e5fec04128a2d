"""Rigs: procedural shapes (pure) and imported meshes resolved in Blender, errors named by key."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from blender.rigging import shapes
from pipeline.rendering.blender_runner import RenderError, check_rigs, make_spec
from pipeline.schema import load_params
from tests.support import ROOT, needs_bpy
from tests.support.mesh_writers import y_up_copy
from tests.support.params import write_params

EXPORT = r"""
import sys, bpy, bmesh
out = sys.argv[-1]
bpy.ops.wm.read_factory_settings(use_empty=True)
mesh = bpy.data.meshes.new("part")
bm = bmesh.new(); bmesh.ops.create_cube(bm, size=2.0); bm.to_mesh(mesh); bm.free()
obj = bpy.data.objects.new("part", mesh); bpy.context.scene.collection.objects.link(obj)
obj.vertex_groups.new(name="top").add([i for i, v in enumerate(mesh.vertices) if v.co.z > 0], 1.0, "REPLACE")
with open(out + "/vertices.txt", "w") as f:
    f.write(repr([tuple(v.co) for v in mesh.vertices]))
bpy.context.view_layer.objects.active = obj; obj.select_set(True)
bpy.ops.wm.obj_export(filepath=out + "/part.obj", export_materials=False, forward_axis="Y", up_axis="Z")
bpy.ops.wm.ply_export(filepath=out + "/part.ply", forward_axis="Y", up_axis="Z")
bpy.ops.wm.stl_export(filepath=out + "/part.stl", forward_axis="Y", up_axis="Z")
bpy.ops.export_scene.gltf(filepath=out + "/part.glb", export_format="GLB")
tip = bpy.data.objects.new("tip", None); tip.location = (0, 0, 3); bpy.context.scene.collection.objects.link(tip)
obj.modifiers.new("array", "ARRAY").count = 2  # only the evaluated mesh has 16 vertices
bpy.ops.wm.save_as_mainfile(filepath=out + "/part.blend")
"""


def test_box_corners_and_faces():
    s = shapes.box((0.1, 0.07, 0.05))
    assert s.vertices[s.groups["left_bottom_front"][0]] == pytest.approx([-0.05, -0.035, -0.025])
    assert s.vertices[s.groups["right_top_back"][0]] == pytest.approx([0.05, 0.035, 0.025])
    centre = s.vertices.mean(axis=0)
    for face in s.faces:  # counter-clockwise from outside: normal points away from the centre
        a, b, c = (s.vertices[i] for i in face[:3])
        assert np.cross(b - a, c - a) @ (a - centre) > 0


def test_glue_tube_landmarks_and_size():
    s = shapes.glue_tube(length=0.095, radius=0.011, cap_length=0.017, cap_radius=0.0075, squeeze=0.25)
    assert s.vertices[s.groups["head"][0]] == pytest.approx([0.0475, 0, 0])
    assert s.vertices[s.groups["tail"][0]] == pytest.approx([-0.0475, 0, 0])
    # where annotators click: mid-cap and mid-crimp on the axis (crimp = 9 % of the length)
    assert s.vertices[s.groups["cap_middle"]].mean(axis=0) == pytest.approx([0.0475 - 0.0085, 0, 0], abs=1e-9)
    assert s.vertices[s.groups["crimp_middle"]].mean(axis=0) == pytest.approx([-0.0475 + 0.045 * 0.095, 0, 0], abs=1e-9)
    assert s.vertices[:, 0].min() == pytest.approx(-0.0475) and s.vertices[:, 0].max() == pytest.approx(0.0475)
    assert np.abs(s.vertices[:, 2]).max() == pytest.approx(0.011, rel=1e-6)  # round part of the body
    crimp = s.vertices[np.isclose(s.vertices[:, 0], -0.0475)]
    assert np.ptp(crimp[:, 1]) > 2 * 0.011 and np.ptp(crimp[:, 2]) < 0.002  # flat, wide seal
    assert set(s.face_slots) == {0, 1, 2} and s.slot_names == ["body", "label", "cap"]


@pytest.fixture(scope="module")
def meshes(tmp_path_factory):
    """Small mesh files in every supported format, exported by Blender itself."""
    out = tmp_path_factory.mktemp("meshes")
    proc = subprocess.run([sys.executable, "-c", EXPORT, str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def check(tmp_path, rig: dict) -> dict:
    pfile = write_params(tmp_path / "params.yaml", {"rigs": {"part": rig}})
    spec = make_spec(load_params(pfile), pfile)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    return check_rigs(tmp_path / "spec.json", tmp_path / "out", None)["part"]


@needs_bpy
@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["obj", "ply", "stl", "glb", "blend"])
def test_imported_mesh_keypoints_in_metres(meshes, tmp_path, suffix):
    vertices = np.array(eval((meshes / "vertices.txt").read_text()))
    keypoints = [{"name": "centre_top", "position": [0, 0, 1]}]
    if suffix in ("obj", "ply"):  # formats that keep vertex order
        keypoints.append({"name": "v5", "vertex": 5})
    if suffix == "blend":
        keypoints += [
            {"name": "top", "vertex_group": "top"},
            {"name": "tip", "empty": "tip"},
            {"name": "v12", "vertex": 12},
        ]
    rig = {"mesh": {"type": "file", "path": str(meshes / f"part.{suffix}"), "unit_scale": 0.05}, "keypoints": keypoints}
    facts = check(tmp_path, rig)
    got = dict(zip([k["name"] for k in keypoints], np.array(facts["keypoints_local"])))
    assert got["centre_top"] == pytest.approx([0, 0, 0.05], abs=1e-6)
    if "v5" in got:
        assert got["v5"] == pytest.approx(vertices[5] * 0.05, abs=1e-6)
    if suffix == "blend":
        # the array modifier adds a second cube 2 units along x: group "top" spans both copies
        assert got["top"] == pytest.approx([0.05, 0, 0.05], abs=1e-6)
        assert got["tip"] == pytest.approx([0, 0, 0.15], abs=1e-6)
        assert facts["radius"] == pytest.approx(0.05 * math.sqrt(9 + 1 + 1), rel=1e-3)
    else:
        assert facts["radius"] == pytest.approx(0.05 * math.sqrt(3), rel=1e-3)


@needs_bpy
@pytest.mark.slow
@pytest.mark.parametrize(
    "keypoint, fragments",
    [
        ({"name": "k", "vertex": 99}, ["rigs.part.keypoints[0] (k).vertex", "index 99 out of range", "16 vertices"]),
        ({"name": "k", "vertex_group": "nope"}, ["rigs.part.keypoints[0] (k).vertex_group", "'nope'", "top"]),
        ({"name": "k", "empty": "nope"}, ["rigs.part.keypoints[0] (k).empty", "'nope'", "tip"]),
    ],
)
def test_rig_that_does_not_match_its_mesh_fails_before_rendering(meshes, tmp_path, keypoint, fragments):
    rig = {"mesh": {"type": "file", "path": str(meshes / "part.blend")}, "keypoints": [keypoint]}
    with pytest.raises(RenderError) as err:
        check(tmp_path, rig)
    for f in fragments:
        assert f in str(err.value), str(err.value)
    assert not (tmp_path / "out" / "images").exists() or not any((tmp_path / "out" / "images").iterdir())


@needs_bpy
@pytest.mark.slow
def test_procedural_rigs_resolve_their_vertex_groups(tmp_path):
    facts = check(
        tmp_path,
        {
            "mesh": {"type": "glue_tube", "length": 0.1},
            "keypoints": [
                {"name": "head", "vertex_group": "head"},
                {"name": "tail", "vertex_group": "tail"},
                {"name": "cap", "vertex_group": "cap_middle"},
            ],
        },
    )
    mid_cap = 0.05 - 0.017 / 2  # default cap_length 0.017
    assert np.allclose(facts["keypoints_local"], [[0.05, 0, 0], [-0.05, 0, 0], [mid_cap, 0, 0]])
    assert facts["slots"] == ["body", "label", "cap"]


@needs_bpy
@pytest.mark.slow
def test_an_up_axis_stands_a_y_up_copy_where_the_z_up_original_stands(tmp_path):
    """A y-up copy of the pen with `up_axis: +y` gives the original's rig facts: a vertex, a
    position, the extent, and a symmetry declared about the file's own (y) axis."""
    pen = ROOT / "examples" / "pen" / "pen.obj"
    y_up = y_up_copy(pen, tmp_path / "pen_y_up.obj")
    mesh = {"type": "file", "unit_scale": 0.001}
    sides = [{"name": "left", "position": [5, 0, 60]}, {"name": "right", "position": [-5, 0, 60]}]
    rigs = {
        "z_up": {"mesh": {**mesh, "path": str(pen)}, "keypoints": [{"name": "tip", "vertex": 120}, *sides]},
        "y_up": {
            "mesh": {**mesh, "path": str(y_up), "up_axis": "+y"},
            # the same points in the copy's coordinates: (x, y, z) -> (x, z, -y)
            "keypoints": [
                {"name": "tip", "vertex": 120},
                {"name": "left", "position": [5, 60, 0]},
                {"name": "right", "position": [-5, 60, 0]},
            ],
            "symmetry": {"rotations": [{"axis": "y", "order": 2}]},
        },
        "lying": {"mesh": {**mesh, "path": str(y_up)}, "keypoints": [{"name": "tip", "vertex": 120}]},
        "turned": {
            "mesh": {**mesh, "path": str(y_up), "up_axis": "+y", "rotation_deg": [0, 0, 90]},
            "keypoints": [{"name": "tip", "vertex": 120}, {"name": "left", "position": [5, 60, 0]}],
        },
    }
    pfile = write_params(tmp_path / "params.yaml", {"rigs": rigs})
    spec = make_spec(load_params(pfile), pfile)
    assert "up_axis" not in spec["rigs"]["z_up"]["mesh"] and "rotation_deg" not in spec["rigs"]["y_up"]["mesh"]
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    facts = check_rigs(tmp_path / "spec.json", tmp_path / "out", None)
    z_up, y_up_facts = facts["z_up"], facts["y_up"]
    assert z_up["keypoints_local"][0] == pytest.approx([0, 0, 0.125], abs=1e-9)  # the tip, 125 mm up
    assert y_up_facts["keypoints_local"] == pytest.approx(np.array(z_up["keypoints_local"]), abs=1e-9)
    for key in ("radius", "extent"):
        assert y_up_facts[key] == pytest.approx(z_up[key], abs=1e-9)
    assert y_up_facts["center"] == pytest.approx(z_up["center"], abs=1e-9)
    assert y_up_facts["symmetry_permutations"] == [[0, 1, 2], [0, 2, 1]]  # left and right swap
    # without the key the copy lies on its side: its tip points along the file's +y
    assert facts["lying"]["keypoints_local"][0] == pytest.approx([0, 0.125, 0], abs=1e-9)
    # rotation_deg turns after the up axis: a quarter turn about z takes the original's +x to +y
    assert facts["turned"]["keypoints_local"] == pytest.approx(np.array([[0, 0, 0.125], [0, 0.005, 0.06]]), abs=1e-9)
