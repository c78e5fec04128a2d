"""Procedural rig meshes as plain arrays (pure numpy), built into Blender by `rigs.py`.

A shape is vertices (object space, metres), faces (vertex index tuples), a material slot per face
and named vertex groups ({name: [vertex indices]}), so keypoints can name landmarks by group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Shape:
    vertices: np.ndarray  # N x 3, object space, metres
    faces: list[tuple[int, ...]]
    face_slots: list[int]  # material slot index of each face
    slot_names: list[str]
    groups: dict[str, list[int]] = field(default_factory=dict)


BOX_AXES = (("left", "right"), ("front", "back"), ("bottom", "top"))  # -/+ along x, y, z


def box(size) -> Shape:
    """Cuboid centred on the origin; corner groups are named `<left|right>_<bottom|top>_<front|back>`.

    Front is -y (what Blender's front view shows), left is -x, bottom is -z.
    """
    hx, hy, hz = (s / 2 for s in size)
    vertices, groups = [], {}
    for ix, sx in enumerate((-1, 1)):
        for iy, sy in enumerate((-1, 1)):
            for iz, sz in enumerate((-1, 1)):
                groups[f"{BOX_AXES[0][ix]}_{BOX_AXES[2][iz]}_{BOX_AXES[1][iy]}"] = [len(vertices)]
                vertices.append((sx * hx, sy * hy, sz * hz))

    def v(ix, iy, iz):
        return ix * 4 + iy * 2 + iz

    # Counter-clockwise seen from outside, so normals point out.
    faces = [
        (v(0, 0, 0), v(0, 0, 1), v(0, 1, 1), v(0, 1, 0)),  # -x
        (v(1, 0, 0), v(1, 1, 0), v(1, 1, 1), v(1, 0, 1)),  # +x
        (v(0, 0, 0), v(1, 0, 0), v(1, 0, 1), v(0, 0, 1)),  # -y
        (v(0, 1, 0), v(0, 1, 1), v(1, 1, 1), v(1, 1, 0)),  # +y
        (v(0, 0, 0), v(0, 1, 0), v(1, 1, 0), v(1, 0, 0)),  # -z
        (v(0, 0, 1), v(1, 0, 1), v(1, 1, 1), v(0, 1, 1)),  # +z
    ]
    return Shape(np.array(vertices, dtype=float), faces, [0] * 6, ["surface"], groups)


def _ring(x: float, a: float, b: float, n: int) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([np.full(n, x), a * np.cos(t), b * np.sin(t)], axis=1)


def glue_tube(
    length: float, radius: float, cap_length: float, cap_radius: float, squeeze: float, around: int = 32
) -> Shape:
    """A squeezed tube along +x: flat crimped seal at the tail (-x), round body, shoulder, cap.

    Groups: `head` = centre of the cap's end face, `tail` = middle of the crimped edge; on the axis,
    `cap_middle` = halfway along the cap and `crimp_middle` = halfway across the crimped band
    (where people click "the cap" and "the end" in photos). Slots: body, label (a printed band), cap.
    """
    x_tail, x_head = -length / 2, length / 2
    crimp = 0.09 * length
    shoulder = 0.05 * length
    x_body0, x_body1 = x_tail + crimp, x_head - cap_length - shoulder
    flat_a, flat_b = 0.5 * math.pi * radius * 0.92, 0.0007  # a flattened tube keeps its girth
    rings: list[tuple[np.ndarray, int]] = []  # (ring vertices, slot of the band ending here)
    rings.append((_ring(x_tail, flat_a, flat_b, around), 0))
    rings.append((_ring(x_body0, flat_a, flat_b, around), 0))
    n_body = 20
    label0, label1 = x_body0 + 0.3 * (x_body1 - x_body0), x_body0 + 0.85 * (x_body1 - x_body0)
    for i in range(1, n_body + 1):
        t = i / n_body
        s = math.sin(0.5 * math.pi * min(1.0, t / 0.6)) ** 0.8
        a = flat_a + (radius - flat_a) * s
        b = flat_b + (radius * (1 - squeeze * (1 - t) ** 2) - flat_b) * s
        x = x_body0 + t * (x_body1 - x_body0)
        x_mid = x - 0.5 * (x_body1 - x_body0) / n_body
        rings.append((_ring(x, a, b, around), 1 if label0 <= x_mid <= label1 else 0))
    for i in (1, 2, 3):
        t = i / 3
        r = radius + (cap_radius * 0.85 - radius) * (1 - math.cos(0.5 * math.pi * t))
        rings.append((_ring(x_body1 + t * shoulder, r, r, around), 0))
    x_cap0 = x_head - cap_length
    rings.append((_ring(x_cap0, cap_radius, cap_radius, around), 2))
    rings.append((_ring(x_head - 0.1 * cap_length, cap_radius, cap_radius, around), 2))
    rings.append((_ring(x_head, cap_radius * 0.9, cap_radius * 0.9, around), 2))

    vertices = np.concatenate([r for r, _ in rings])
    faces, slots = [], []
    for k in range(1, len(rings)):
        o0, o1 = (k - 1) * around, k * around
        for j in range(around):
            j1 = (j + 1) % around
            faces.append((o0 + j, o0 + j1, o1 + j1, o1 + j))
            slots.append(rings[k][1])
    tail_c, head_c = len(vertices), len(vertices) + 1
    vertices = np.concatenate([vertices, [[x_tail, 0.0, 0.0], [x_head, 0.0, 0.0]]])
    last = (len(rings) - 1) * around
    for j in range(around):
        j1 = (j + 1) % around
        faces.append((tail_c, j1, j))
        slots.append(0)
        faces.append((head_c, last + j, last + j1))
        slots.append(2)
    ring = [list(range(k * around, (k + 1) * around)) for k in range(len(rings))]
    groups = {
        "head": [head_c],
        "tail": [tail_c],
        "cap_middle": ring[-3] + ring[-1],  # the cap's first and last rings: centroid mid-cap
        "crimp_middle": ring[0] + ring[1],  # the seal's two flat rings: centroid mid-band
    }
    return Shape(vertices, faces, slots, ["body", "label", "cap"], groups)
