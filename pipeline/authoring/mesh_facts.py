"""What `rig2kp mesh-info` says about a mesh file, from its vertices (pure numpy).

Vertices are N x 3 in file coordinates: the object's own space in file units, the frame of a
keypoint's `position` (a glTF file as Blender imports it: already z-up). Row i is vertex i, the
index a `vertex:` keypoint names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

AXES = "xyz"
EXTREMES = ("+x", "-x", "+y", "-y", "+z", "-z")
TIE = 1e-6  # of the mesh's size: vertices this close to an extreme are tied for it
BASE = 0.02  # of the mesh's size: a lowest point this close to 0 counts as standing on 0
CENTRED = 0.05  # of an axis's own extent: a box centre this close to 0 counts as centred

GLTF = ("+z", "glTF is y-up by its spec, and Blender's importer already turns it z-up")
# What each format's files usually hold, as Blender imports them (the fallback of the guess).
CONVENTIONS = {
    ".obj": ("+y", "OBJ has no axis convention, but most exporters write y-up, Blender's by default"),
    ".gltf": GLTF,
    ".glb": GLTF,
    ".blend": ("+z", "Blender is z-up"),
    ".stl": ("+z", "STL files are mostly made for 3D printers, which are z-up"),
    ".ply": ("+z", "PLY has no axis convention; z-up is Blender's own"),
}


@dataclass(frozen=True)
class UpGuess:
    axis: str  # one of blender.rigging.mesh_turn.UP_AXES
    reason: str


def to_file(rig_vertices: np.ndarray, mesh_from_rig: np.ndarray) -> np.ndarray:
    """Rig-frame vertices (metres, turned) back to file coordinates through the 4x4 mesh_from_rig."""
    m = np.asarray(mesh_from_rig, dtype=float)
    return np.asarray(rig_vertices, dtype=float) @ m[:3, :3].T + m[:3, 3]


def size_of(vertices: np.ndarray) -> float:
    """The largest extent of the bounding box (file units); 1 for a single point."""
    span = float(np.ptp(vertices, axis=0).max()) if len(vertices) else 0.0
    return span if span > 0 else 1.0


def extremes(vertices: np.ndarray) -> dict[str, int]:
    """The vertex furthest along each of +x -x +y -y +z -z. Of vertices tied for an extreme (a
    flat end), the one nearest the bounding box's centre line along that axis, then the lowest
    index: the middle of a flat end, where a person would click."""
    v = np.asarray(vertices, dtype=float)
    centre = (v.min(axis=0) + v.max(axis=0)) / 2
    tie = TIE * size_of(v)
    found = {}
    for name in EXTREMES:
        a = AXES.index(name[1])
        along = v[:, a] if name[0] == "+" else -v[:, a]
        tied = np.flatnonzero(along >= along.max() - tie)
        off_axis = np.linalg.norm(np.delete(v[tied] - centre, a, axis=1), axis=1)
        found[name] = int(tied[np.lexsort((tied, off_axis))[0]])
    return found


def nearest(vertices: np.ndarray, point, count: int = 5) -> list[tuple[int, float]]:
    """(index, distance) of the `count` vertices nearest `point` (file coordinates), nearest first;
    equal distances in index order."""
    d = np.linalg.norm(np.asarray(vertices, dtype=float) - np.asarray(point, dtype=float), axis=1)
    order = np.lexsort((np.arange(len(d)), d))[:count]
    return [(int(i), float(d[i])) for i in order]


def guess_up_axis(vertices: np.ndarray, suffix: str) -> UpGuess:
    """Which file axis points up: a guess, from where the mesh stands, else the format's habit.

    The shape: a mesh modelled standing on the ground has its lowest point at 0 along the up axis
    while it is centred on 0 along the other two (a pen from z = 0 to 125, x and y in ±6). When
    exactly one axis fits that (or its mirror, highest point at 0: hanging), that is the guess.
    Otherwise the format's convention (CONVENTIONS) decides. Meshes centred on all axes, or
    modelled anywhere, say nothing by their shape; the guess is then the format's habit only.
    """
    v = np.asarray(vertices, dtype=float)
    lo, hi = v.min(axis=0), v.max(axis=0)
    size, extent = size_of(v), np.maximum(hi - lo, 1e-12)
    centred = np.abs(lo + hi) / 2 <= CENTRED * extent
    fits = []
    for a in range(3):
        others = all(centred[b] for b in range(3) if b != a)
        if others and abs(lo[a]) <= BASE * size and hi[a] > BASE * size:
            fits.append(("+" + AXES[a], f"its lowest {AXES[a]} is 0 (it stands on {AXES[a]} = 0)"))
        elif others and abs(hi[a]) <= BASE * size and lo[a] < -BASE * size:
            fits.append(("-" + AXES[a], f"its highest {AXES[a]} is 0 (it hangs from {AXES[a]} = 0)"))
    habit, why = CONVENTIONS.get(suffix.lower(), ("+z", "z-up is Blender's own"))
    if len(fits) == 1:
        axis, shape = fits[0]
        rest = " and ".join(AXES[b] for b in range(3) if AXES[b] != axis[1])
        reason = f"{shape} while it is centred on 0 along {rest}"
        if axis != habit:
            reason += f"; the format's habit alone would say {habit} ({why})"
        return UpGuess(axis, reason)
    shape = "its shape does not tell (not standing on 0 along exactly one axis while centred on the others)"
    return UpGuess(habit, f"{shape}; {why}")


def rig_name(path: str) -> str:
    """A rig name from a file name: letters, digits and underscores."""
    stem = re.sub(r"\W+", "_", path.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]).strip("_")
    return stem.lower() or "object"


def number(x: float) -> str:
    """A coordinate as a person reads it: up to 6 significant digits, no -0."""
    text = f"{x:.6g}"
    return "0" if text in ("-0", "0") else text


def scalar(text: str) -> str:
    """A YAML string: plain when it is safe, else quoted (a JSON string is valid YAML)."""
    return text if re.fullmatch(r"[\w./-]+", text) and not text.startswith("-") else json.dumps(text)


def point(p) -> str:
    return "[" + ", ".join(number(x) for x in p) + "]"


def snippet(
    path: str,
    unit_scale: float,
    up_axis: str,
    vertices: np.ndarray,
    found: dict[str, int],
    object_name: str | None = None,
) -> str:
    """A params.yaml rig to paste: the mesh with its keys, and one keypoint per distinct extreme
    vertex (named by the axis it is furthest along, e.g. `z_max`), commented with its coordinates."""
    mesh = f"type: file, path: {scalar(path)}, unit_scale: {number(unit_scale)}, up_axis: {json.dumps(up_axis)}"
    if object_name is not None:
        mesh += f", object: {json.dumps(object_name)}"
    lines = [
        "rigs:",
        f"  {rig_name(path)}:",
        f"    mesh: {{{mesh}}}   # path: relative to params.yaml's folder",
        "    keypoints:   # the mesh's extremes: keep those that name a point your photos show",
    ]
    seen: dict[int, list[str]] = {}
    for name, index in found.items():
        seen.setdefault(index, []).append(name)
    for index, names in seen.items():
        kp = f"{names[0][1]}_{'max' if names[0][0] == '+' else 'min'}"
        where = f"{point(vertices[index])}, furthest along {' '.join(names)}"
        lines.append(f"      - {{name: {kp}, vertex: {index}}}   # {where}")
    return "\n".join(lines)
