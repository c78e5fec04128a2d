"""The turn of a mesh file into the rig frame: its up axis, then XYZ Euler angles (pure numpy).

A file's own axes are kept on import (blender/rigging/rigs.py), so a y-up file lies on its side. The
turn maps file axes to rig axes (world +z is up, as `pose: upright` assumes): `up_axis` names
the file axis that becomes +z, by the shortest right-handed rotation (exact: a signed permutation
of the axes), then `rotation_deg` turns the result about the rig's x, then y, then z axes
(Blender's XYZ Euler, R = Rz @ Ry @ Rx). Multiples of 90 degrees give exact 0 and ±1 entries.
"""

from __future__ import annotations

import math

import numpy as np

from common.render_spec import FileMesh

UP_AXES = ("+x", "-x", "+y", "-y", "+z", "-z")
DEFAULT_UP = "+z"

# rows: rig axes (x, y, z); columns: file axes. Each the shortest turn taking the file axis to +z:
# about x for ±y and -z, about y for ±x.
_UP = {
    "+z": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    "-z": ((1, 0, 0), (0, -1, 0), (0, 0, -1)),  # 180 degrees about x
    "+y": ((1, 0, 0), (0, 0, -1), (0, 1, 0)),  # +90 about x: Blender's import of a y-up file
    "-y": ((1, 0, 0), (0, 0, 1), (0, -1, 0)),  # -90 about x
    "+x": ((0, 0, -1), (0, 1, 0), (1, 0, 0)),  # -90 about y
    "-x": ((0, 0, 1), (0, 1, 0), (-1, 0, 0)),  # +90 about y
}


def _cos_sin(deg: float) -> tuple[float, float]:
    """cos and sin of an angle in degrees; exact for multiples of 90."""
    if float(deg) % 90 == 0:
        quarter = int(float(deg) // 90) % 4
        return ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[quarter]
    rad = math.radians(deg)
    return math.cos(rad), math.sin(rad)


def up_matrix(up_axis: str) -> np.ndarray:
    """3x3 rotation taking file axis `up_axis` to rig +z (file coordinates -> rig coordinates)."""
    if up_axis not in _UP:
        raise ValueError(f"up_axis {up_axis!r}: expected one of {', '.join(UP_AXES)}")
    return np.array(_UP[up_axis], dtype=float)


def euler_matrix(rotation_deg: tuple[float, float, float]) -> np.ndarray:
    """3x3 rotation of XYZ Euler angles in degrees: about x first, then y, then z (Rz @ Ry @ Rx)."""
    (cx, sx), (cy, sy), (cz, sz) = (_cos_sin(a) for a in rotation_deg)
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    return rz @ ry @ rx


def turn_matrix(up_axis: str = DEFAULT_UP, rotation_deg: tuple[float, float, float] | None = None) -> np.ndarray | None:
    """4x4 turn from file coordinates to rig coordinates, or None when it is the identity (the
    defaults), so callers leave their arithmetic exactly as it is without a turn."""
    if up_axis == DEFAULT_UP and rotation_deg is None:
        return None
    r = up_matrix(up_axis)
    if rotation_deg is not None:
        r = euler_matrix(rotation_deg) @ r
    m = np.eye(4)
    m[:3, :3] = r
    return m


def turn_of(mesh: FileMesh) -> np.ndarray | None:
    """The turn of a spec's mesh file (its `up_axis`, then `rotation_deg`)."""
    return turn_matrix(mesh.up_axis, mesh.rotation_deg)
