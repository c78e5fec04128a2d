"""The turn of a mesh file into the rig frame (blender/rigging/mesh_turn.py), against hand-written rotations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blender.rigging.mesh_turn import UP_AXES, euler_matrix, turn_matrix, turn_of, up_matrix
from common.render_spec import FileMesh
from pipeline.schema.rigs_params import FileMesh as FileMeshParams
from tests.support.specs import typed_part

AXIS = {"x": 0, "y": 1, "z": 2}


def file_mesh(**turn) -> FileMesh:
    """A mesh file as the render spec holds it (the keys at their defaults left out)."""
    return typed_part(FileMesh, FileMeshParams, {"type": "file", "path": "a.obj", **turn})


def test_the_defaults_are_no_turn_at_all():
    assert turn_matrix() is None and turn_matrix("+z", None) is None
    assert turn_of(file_mesh()) is None


@pytest.mark.parametrize("up", UP_AXES)
def test_each_up_axis_goes_to_plus_z_by_a_proper_rotation(up):
    r = up_matrix(up)
    axis = np.zeros(3)
    axis[AXIS[up[1]]] = 1.0 if up[0] == "+" else -1.0
    assert r @ axis == pytest.approx([0, 0, 1])
    assert np.array_equal(r @ r.T, np.eye(3))  # exact: a signed permutation
    assert np.linalg.det(r) == pytest.approx(1.0)  # right-handed: no mirror
    assert set(np.unique(r)) <= {-1.0, 0.0, 1.0}


def test_y_up_is_blenders_own_turn_of_a_y_up_file():
    """Blender imports a y-up OBJ (forward -z) as x -> x, y -> z, z -> -y: +90 degrees about x."""
    r = up_matrix("+y")
    assert r @ [0, 1, 0] == pytest.approx([0, 0, 1])
    assert r @ [0, 0, 1] == pytest.approx([0, -1, 0])
    assert r @ [1, 0, 0] == pytest.approx([1, 0, 0])
    c, s = math.cos(math.pi / 2), math.sin(math.pi / 2)
    assert r == pytest.approx(np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), abs=1e-12)


def test_euler_angles_turn_about_x_then_y_then_z():
    p = np.array([1.0, 2.0, 3.0])
    # one axis at a time: the right-hand rule
    assert euler_matrix((90, 0, 0)) @ p == pytest.approx([1, -3, 2])
    assert euler_matrix((0, 90, 0)) @ p == pytest.approx([3, 2, -1])
    assert euler_matrix((0, 0, 90)) @ p == pytest.approx([-2, 1, 3])
    # x first, then z: (1, 2, 3) -> (1, -3, 2) -> (3, 1, 2)
    assert euler_matrix((90, 0, 90)) @ p == pytest.approx([3, 1, 2])
    a = euler_matrix((30, -45, 110))
    assert a @ a.T == pytest.approx(np.eye(3)) and np.linalg.det(a) == pytest.approx(1.0)
    assert np.array_equal(euler_matrix((0, 180, -90)), np.round(euler_matrix((0, 180, -90))))  # exact quarters


def test_the_euler_turn_comes_after_the_up_axis():
    m = turn_matrix("+y", (0, 0, 90))
    assert m.shape == (4, 4) and np.array_equal(m[3], [0, 0, 0, 1]) and not m[:3, 3].any()
    # file +y is up; then a quarter turn about the rig's z takes rig +x to rig +y
    assert m[:3, :3] @ [0, 1, 0] == pytest.approx([0, 0, 1])
    assert m[:3, :3] @ [1, 0, 0] == pytest.approx([0, 1, 0])
    assert turn_matrix("+z", (0, 0, 0))[:3, :3] == pytest.approx(np.eye(3))
    assert turn_of(file_mesh(up_axis="-x"))[:3, :3] @ [-1, 0, 0] == pytest.approx([0, 0, 1])


def test_an_unknown_up_axis_is_named():
    with pytest.raises(ValueError, match="'y'.*\\+x, -x"):
        up_matrix("y")
