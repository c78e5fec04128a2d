"""Instances of a rig that moves (bpy): each its own root empty, armature, mesh and empties, copied
from the template and pointed at each other; per image `Posed.pose` sets bones and shape keys,
and `Posed.keypoints_world` reads the keypoints from the evaluated pose and deformed mesh."""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy
import numpy as np
from mathutils import Euler, Matrix, Quaternion

from blender.rigging.rigs import RigError

PARKED = (0.0, 0.0, -1000.0)


def matrix(m) -> np.ndarray:
    """A Blender matrix as a float array."""
    return np.array(m, dtype=float)


def to_world(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """N x 3 points moved by the 4x4 matrix `m`."""
    return points @ m[:3, :3].T + m[:3, 3]


@dataclass
class Posed:
    """One instance of an articulated rig (the hidden template is one too)."""

    rig: PosedRig
    root: bpy.types.Object  # empty: the rig frame; the instance's location / rotation / scale go here
    copies: dict[str, bpy.types.Object]  # file object name -> this instance's object

    @property
    def mesh(self) -> bpy.types.Object:
        return self.copies[self.rig.mesh_name]

    @property
    def armature(self) -> bpy.types.Object | None:
        return self.copies.get(self.rig.armature_name) if self.rig.armature_name else None

    def pose(self, articulation: dict) -> None:
        """Set bones and shape keys from one sampled articulation (posing.sample_articulation)."""
        rig, arm = self.rig, self.armature
        if arm is not None and rig.touched:
            chosen = [rig.actions[a] for a in articulation.get("actions", [])]
            t = articulation.get("blend", 0.0)
            angles = articulation.get("bones", {})
            for bone in rig.touched:
                loc, rot, scale = chosen[0][bone] if chosen else rig.base[bone]
                if len(chosen) == 2:
                    loc2, rot2, scale2 = chosen[1][bone]
                    loc, rot, scale = loc.lerp(loc2, t), rot.slerp(rot2, t), scale.lerp(scale2, t)
                if bone in angles:  # the pose panel's values: from rest, or further from the action's pose
                    rot = (rot if chosen else Quaternion()) @ Euler(angles[bone], rig.orders[bone]).to_quaternion()
                arm.pose.bones[bone].matrix_basis = Matrix.LocRotScale(loc, rot, scale)
        keys = articulation.get("shape_keys")
        if keys:
            blocks = self.mesh.data.shape_keys.key_blocks
            for name, value in keys.items():
                blocks[name].value = value

    def vertices_local(self) -> np.ndarray:
        """N x 3 vertices of the evaluated (posed, deformed) mesh, in its object space."""
        mesh = self.mesh.evaluated_get(bpy.context.evaluated_depsgraph_get()).data
        co = np.empty(len(mesh.vertices) * 3)
        mesh.vertices.foreach_get("co", co)
        return co.reshape(-1, 3)

    def keypoints_world(self) -> np.ndarray:
        """K x 3 world positions of the keypoints as the instance is evaluated now."""
        rig = self.rig
        mw = matrix(self.mesh.matrix_world)
        verts = None
        if any(s[0] in ("vertex", "weights") for s in rig.sources):
            verts = self.vertices_local()
            if len(verts) != rig.vertex_count:
                raise RigError(
                    f"{rig.key}: the evaluated mesh has {len(verts)} vertices in this pose and "
                    f"{rig.vertex_count} at rest; keypoints by vertex or vertex_group need modifiers "
                    "that keep the vertex count"
                )
        arm = self.armature.evaluated_get(bpy.context.evaluated_depsgraph_get()) if self.armature else None
        out = []
        for kind, value in rig.sources:
            if kind == "position":
                out.append(to_world(mw, value[None])[0])
            elif kind == "vertex":
                out.append(to_world(mw, verts[value][None])[0])
            elif kind == "weights":
                out.append(to_world(mw, (value @ verts / value.sum())[None])[0])
            elif kind == "empty":
                out.append(np.array(self.copies[value].matrix_world.translation))
            else:  # bone: (name, head | tail), in the armature's object space
                pb = arm.pose.bones[value[0]]
                end = pb.tail if value[1] == "tail" else pb.head
                out.append(to_world(matrix(arm.matrix_world), np.array(end)[None])[0])
        return np.array(out, dtype=float).reshape(-1, 3)


@dataclass
class PosedRig:
    """What an articulated rig's instances share: the template objects and what was read from the file."""

    key: str  # params key, rigs.NAME
    objects: list[bpy.types.Object]  # the kept file objects, parents first (the template's)
    mesh_name: str
    armature_name: str | None
    sources: list[tuple[str, object]]  # per keypoint: (kind, value), see Posed.keypoints_world
    vertex_count: int  # of the evaluated mesh at rest
    touched: list[str]  # bones set every image (ranges or actions move them)
    orders: dict[str, str]  # bone -> Euler order of its ranges
    base: dict[str, tuple]  # bone -> (location, rotation quaternion, scale) as saved in the file
    actions: dict[str, dict[str, tuple]] = field(default_factory=dict)  # action -> bone -> pose
    own_mesh_data: bool = False  # shape keys vary: each instance needs its own mesh data
    template: Posed | None = None

    def instance(self, name: str, collection) -> Posed:
        """A new instance (its own root, armature, mesh, empties), parked."""
        root = bpy.data.objects.new(f"{name}.root", None)
        collection.objects.link(root)
        copies: dict[str, bpy.types.Object] = {}
        for o in self.objects:
            c = o.copy()
            if o.name == self.mesh_name:
                c.name = name
                if self.own_mesh_data:
                    c.data = o.data.copy()
            else:
                c.name = f"{name}.{o.name}"
            collection.objects.link(c)
            c.parent = copies[o.parent.name] if o.parent is not None and o.parent.name in copies else root
            copies[o.name] = c
        remap = {self.template.copies[n]: c for n, c in copies.items()}
        for c in copies.values():
            _retarget(c, remap)
            c.hide_render = True
        copies[self.mesh_name].hide_render = False
        root.location = PARKED
        return Posed(self, root, copies)


def _retarget(obj, remap: dict) -> None:
    """Point modifiers, constraints and drivers of a copied object at the instance's own copies."""
    for mod in obj.modifiers:
        if getattr(mod, "object", None) in remap:
            mod.object = remap[mod.object]
    owners = list(obj.constraints)
    if obj.pose is not None:
        owners += [c for pb in obj.pose.bones for c in pb.constraints]
    for con in owners:
        if getattr(con, "target", None) in remap:
            con.target = remap[con.target]
    for idb in (obj, getattr(obj.data, "shape_keys", None) if obj.type == "MESH" else None):
        ad = getattr(idb, "animation_data", None)
        for fc in ad.drivers if ad else []:
            for var in fc.driver.variables:
                for t in var.targets:
                    if t.id in remap:
                        t.id = remap[t.id]
