"""`rig2kp mesh-info` run as a user runs it, checked against the mesh files' own text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.rendering.blender_runner import check_rigs, make_spec
from pipeline.schema import load_params
from tests.support import ROOT, needs_bpy
from tests.support.mesh_writers import y_up_copy
from tests.support.params import write_params

PEN = ROOT / "examples" / "pen" / "pen.obj"

TWO_MATERIALS = """mtllib two.mtl
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 0 0 1
usemtl paint
f 1 2 3 4
usemtl label
f 1 2 5
"""


def mesh_info(*args: str, module: str = "pipeline.cli") -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", module, *(["mesh-info"] if module == "pipeline.cli" else []), *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def obj_vertices(path: Path) -> np.ndarray:
    """The `v` lines of an OBJ, read as text: row i is vertex i."""
    return np.array(
        [[float(t) for t in ln.split()[1:4]] for ln in path.read_text().splitlines() if ln.startswith("v ")]
    )


@needs_bpy
@pytest.mark.slow
def test_the_pen_tip_is_the_vertex_the_tutorial_names(tmp_path):
    text_vertices = obj_vertices(PEN)
    tip = int(np.argmax(text_vertices[:, 2]))
    assert tip == 120 and (text_vertices[:, 2] == text_vertices[tip, 2]).sum() == 1  # a single apex
    proc = mesh_info(str(PEN), "--unit-scale", "0.001", "--near", "0", "0", "125", "--count", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["vertices"] == len(text_vertices)
    assert info["faces"] == sum(ln.startswith("f ") for ln in PEN.read_text().splitlines())
    assert info["extremes"]["+z"] == {"vertex": tip, "position": pytest.approx([0, 0, 125], abs=1e-4)}
    for name, e in info["extremes"].items():  # every extreme is a vertex of the file, at its own coordinates
        assert e["position"] == pytest.approx(text_vertices[e["vertex"]].tolist(), abs=1e-4), name
    assert info["bounds_file"] == [
        pytest.approx(text_vertices.min(axis=0).tolist(), abs=1e-4),
        pytest.approx(text_vertices.max(axis=0).tolist(), abs=1e-4),
    ]
    assert info["bounds_metres"][1][2] == pytest.approx(0.125, abs=1e-7)
    assert info["near"]["vertices"][0] == {
        "vertex": 120,
        "position": pytest.approx([0, 0, 125], abs=1e-4),
        "distance": pytest.approx(0, abs=1e-4),
    }
    assert info["up_axis_guess"]["axis"] == "+z" and info["slots"] == [] and info["objects"][0]["name"] == "pen"
    assert "{name: z_max, vertex: 120}" in info["snippet"] and 'up_axis: "+z"' in info["snippet"]


@needs_bpy
@pytest.mark.slow
def test_a_y_up_copy_reads_with_the_same_indices_and_stands_with_its_up_axis(tmp_path):
    y_up = y_up_copy(PEN, tmp_path / "pen_y_up.obj")
    info = json.loads(mesh_info(str(y_up), "--unit-scale", "0.001", "--json").stdout)
    assert info["extremes"]["+y"]["vertex"] == 120  # the tip, now along the file's +y
    assert info["up_axis_guess"]["axis"] == "+y" and "stands on y = 0" in info["up_axis_guess"]["reason"]
    assert 'up_axis: "+y"' in info["snippet"]  # the guess goes into the rig to paste
    assert info["bounds_rig"][1] == pytest.approx([0.006, 0.125, 0.006], abs=1e-6)  # baked as is: lying
    standing = json.loads(mesh_info(str(y_up), "--unit-scale", "0.001", "--up-axis", "+y", "--json").stdout)
    assert standing["bounds_rig"][1] == pytest.approx([0.006, 0.006, 0.125], abs=1e-6)  # up +y: standing
    assert standing["extremes"] == info["extremes"]  # file coordinates and indices do not turn


@needs_bpy
@pytest.mark.slow
def test_slot_names_are_those_the_rig_check_reports(tmp_path):
    (tmp_path / "two.obj").write_text(TWO_MATERIALS)
    (tmp_path / "two.mtl").write_text("newmtl paint\nKd 1 0 0\nnewmtl label\nKd 0 0 1\n")
    proc = mesh_info(str(tmp_path / "two.obj"), module="pipeline.authoring.mesh_info")
    assert proc.returncode == 0, proc.stderr
    assert 'material slots (keys of `materials:`): "paint", "label"' in proc.stdout
    assert "+z       4: [0, 0, 1]" in proc.stdout and "a rig to paste into params.yaml:" in proc.stdout
    pfile = write_params(
        tmp_path / "params.yaml",
        {"rigs": {"two": {"mesh": {"type": "file", "path": "two.obj"}, "keypoints": [{"name": "k", "vertex": 4}]}}},
    )
    (tmp_path / "spec.json").write_text(json.dumps(make_spec(load_params(pfile), pfile)))
    facts = check_rigs(tmp_path / "spec.json", tmp_path / "out", None)["two"]
    assert facts["slots"] == ["paint", "label"] and facts["keypoints_local"] == [[0, 0, 1]]


@needs_bpy
@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fragments",
    [
        (["nowhere/pen.obj"], ["nowhere/pen.obj: file not found", ".obj .ply"]),
        (["README.md"], ["README.md: a .md file; expected one of .obj"]),
        ([str(PEN), "--object", "cap"], ["pen.obj", "no mesh object 'cap'", "['pen']", "--object NAME"]),
    ],
)
def test_bad_input_is_one_error_line_naming_the_file(args, fragments):
    proc = mesh_info(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]
