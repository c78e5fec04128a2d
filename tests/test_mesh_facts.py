"""mesh-info's analysis (pipeline/authoring/mesh_facts.py) on hand-made vertex arrays."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from blender.rigging.mesh_turn import turn_matrix
from pipeline.authoring import mesh_facts
from pipeline.schema.rigs_params import Rig

# a square column 2 wide, 10 tall, standing on z = 0; a flat top with a middle vertex (8)
COLUMN = np.array(
    [[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0], [-1, -1, 10], [1, -1, 10], [1, 1, 10], [-1, 1, 10], [0, 0, 10]],
    dtype=float,
)


def test_extremes_pick_the_middle_of_a_flat_end_then_the_lowest_index():
    found = mesh_facts.extremes(COLUMN)
    assert found["+z"] == 8  # of the 5 top vertices, the one on the centre line
    assert found["-z"] == 0  # 4 corners tie at the same distance from the centre line: the lowest index
    assert found["+x"] == 1 and found["-x"] == 0 and found["+y"] == 2 and found["-y"] == 0
    tip = np.vstack([COLUMN, [[0.2, 0, 10 + 1e-9]]])  # within the tie tolerance of the top
    assert mesh_facts.extremes(tip)["+z"] == 8


def test_a_single_sharp_tip_wins_its_axis():
    pen = np.vstack([COLUMN, [[0.1, -0.1, 12.5]]])
    assert mesh_facts.extremes(pen)["+z"] == 9


def test_nearest_lists_by_distance_then_index():
    got = mesh_facts.nearest(COLUMN, (0, 0, 9), count=3)
    assert got[0] == (8, pytest.approx(1.0))
    assert [i for i, _ in got[1:]] == [4, 5]  # four corners at sqrt(3): index order
    assert got[1][1] == pytest.approx(np.sqrt(3))
    assert len(mesh_facts.nearest(COLUMN, (0, 0, 0), count=50)) == len(COLUMN)


@pytest.mark.parametrize("up", ["+x", "-x", "+y", "-y", "+z", "-z"])
def test_a_mesh_standing_on_zero_tells_its_up_axis_whatever_the_format(up):
    # the column turned so that its up (+z) becomes the file's `up`: the inverse of that axis's turn
    r = turn_matrix(up)[:3, :3] if up != "+z" else np.eye(3)
    in_file = COLUMN @ r  # row-vector form of r.T @ p: file coordinates whose `up` axis points up
    for suffix in (".obj", ".stl", ".glb"):
        guess = mesh_facts.guess_up_axis(in_file, suffix)
        assert guess.axis == up, (suffix, guess)
        assert f"{up[1]} = 0" in guess.reason


def test_a_shape_that_says_nothing_falls_back_on_the_format():
    centred = COLUMN - [0, 0, 5]  # centred on every axis
    obj = mesh_facts.guess_up_axis(centred, ".OBJ")
    assert obj.axis == "+y" and "OBJ" in obj.reason and "does not tell" in obj.reason
    assert mesh_facts.guess_up_axis(centred, ".glb").axis == "+z"
    assert mesh_facts.guess_up_axis(centred, ".blend").axis == "+z"
    # standing on 0 along two axes at once (a corner at the origin) is no evidence either
    corner = COLUMN + [1, 1, 0]
    assert mesh_facts.guess_up_axis(corner, ".obj").axis == "+y"


def test_the_guess_says_when_it_overrules_the_formats_habit():
    guess = mesh_facts.guess_up_axis(COLUMN, ".obj")
    assert guess.axis == "+z" and "would say +y" in guess.reason


def test_file_coordinates_come_back_through_mesh_from_rig():
    mesh_from_rig = np.diag([1000.0, 1000.0, 1000.0, 1.0])
    mesh_from_rig[:3, 3] = [1, 2, 3]
    got = mesh_facts.to_file(np.array([[0.001, 0, 0.125]]), mesh_from_rig)
    assert got == pytest.approx(np.array([[2, 2, 128]]))


def test_the_snippet_is_a_rig_that_params_accept():
    pen = np.vstack([COLUMN, [[0, 0, 12.5]]])
    found = mesh_facts.extremes(pen)
    text = mesh_facts.snippet("my pen/Pen-1.obj", 0.001, "+y", pen, found, object_name="Pen body")
    rigs = yaml.safe_load(text)["rigs"]
    assert list(rigs) == ["pen_1"]
    rig = Rig.model_validate(rigs["pen_1"])
    assert rig.mesh.up_axis == "+y" and rig.mesh.unit_scale == 0.001 and rig.mesh.object == "Pen body"
    assert str(rig.mesh.path) == "my pen/Pen-1.obj"
    names = {k.name: k.vertex for k in rig.keypoints}
    assert names["z_max"] == 9 and names["z_min"] == 0
    assert len(names) == len(set(found.values()))  # one line a vertex, even when it is extreme twice
    assert "[0, 0, 12.5], furthest along +z" in text


def test_numbers_read_like_a_person_writes_them():
    assert mesh_facts.number(-0.0) == "0" and mesh_facts.number(125.00000001) == "125"
    assert mesh_facts.point([5.79559993, -0.0, 0.1]) == "[5.7956, 0, 0.1]"
