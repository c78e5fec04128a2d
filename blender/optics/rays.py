"""Ray casts against the Blender scene (bpy), for view constraints: which object a camera ray meets
first, and whether it meets one given object at all (that object alone)."""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Vector


def first_objects(scene, origin: np.ndarray, directions: np.ndarray) -> list[str | None]:
    """Name of the first object each ray (world, from `origin`) meets, None where it meets none."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    o = Vector(origin.tolist())
    out = []
    for d in directions:
        hit, _, _, _, obj, _ = scene.ray_cast(depsgraph, o, Vector(d.tolist()))
        out.append(obj.name if hit and obj is not None else None)
    return out


def meets(obj, origin: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Whether each ray (world) meets `obj`'s evaluated mesh, other objects ignored."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    inverse = np.linalg.inv(np.array(obj.matrix_world))
    o = Vector((inverse[:3, :3] @ origin + inverse[:3, 3]).tolist())
    local = directions @ inverse[:3, :3].T
    ev = obj.evaluated_get(depsgraph)
    return np.array([ev.ray_cast(o, Vector(d.tolist()), depsgraph=depsgraph)[0] for d in local], dtype=bool)
