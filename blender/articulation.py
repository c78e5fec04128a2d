"""Rigs that move: every instance owns its own copy of the file's armature and mesh (bpy).

A rig with `pose_bones`, `pose_actions` or `shape_keys` is not baked. Its mesh, the mesh's
armature, the empties its keypoints name, and their parents are kept as they are in the file,
under one empty (the rig frame: metres, the file's unit scale, object transforms and the mesh's
turn folded in).
The scene's pool holds one such hierarchy per instance, made once; per image only the root's
transform, the bones' pose and the shape key values change. Keypoints are then read from that
instance as Blender evaluated it: bone heads / tails from the evaluated pose, vertices and vertex
group centroids from the deformed mesh, empties from their world matrices (an empty parented to
a bone follows it). Ray casts see the evaluated, deformed geometry of every instance.
Problems with the rig raise RigError naming the params key, in the --check pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import bpy
import numpy as np
from mathutils import Euler, Matrix, Quaternion

from . import mesh_turn, rigs
from .rigs import RigError

PARKED = (0.0, 0.0, -1000.0)
AXES = ("x", "y", "z")


def _matrix(m) -> np.ndarray:
    return np.array(m, dtype=float)


def _to_world(m: np.ndarray, points: np.ndarray) -> np.ndarray:
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
        mw = _matrix(self.mesh.matrix_world)
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
                out.append(_to_world(mw, value[None])[0])
            elif kind == "vertex":
                out.append(_to_world(mw, verts[value][None])[0])
            elif kind == "weights":
                out.append(_to_world(mw, (value @ verts / value.sum())[None])[0])
            elif kind == "empty":
                out.append(np.array(self.copies[value].matrix_world.translation))
            else:  # bone: (name, head | tail), in the armature's object space
                pb = arm.pose.bones[value[0]]
                end = pb.tail if value[1] == "tail" else pb.head
                out.append(_to_world(_matrix(arm.matrix_world), np.array(end)[None])[0])
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


def _decompose(m: Matrix) -> tuple:
    loc, rot, scale = m.decompose()
    return loc.copy(), rot.copy(), scale.copy()


def _deselect_bones(arm) -> None:
    """apply_pose_from_action poses only selected bones when any is selected."""
    for pb in arm.pose.bones:
        if hasattr(pb, "select"):  # Blender >= 5.0
            pb.select = False
        if hasattr(pb.bone, "select"):
            pb.bone.select = False


def _load_actions(path: Path, names: list[str], key: str) -> dict[str, bpy.types.Action]:
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        available = list(src.actions)
        missing = [n for n in names if n not in available]
        if missing:
            raise RigError(
                f"{key}.pose_actions.names: no action {missing[0]!r} in {path}; it has {sorted(available) or 'none'}"
            )
        dst.actions = list(names)
    return dict(zip(names, dst.actions))


def _check_bones(arm, rig: dict, key: str) -> None:
    bones = sorted(arm.pose.bones.keys()) if arm is not None else []
    for bone, ranges in (rig.get("pose_bones") or {}).items():
        if arm is None:
            raise RigError(
                f"{key}.pose_bones: the mesh has no armature (an Armature modifier or an armature "
                "parent), so it has no bones to pose"
            )
        if bone not in arm.pose.bones:
            raise RigError(f"{key}.pose_bones.{bone}: no bone {bone!r} in armature {arm.name!r}; it has {bones}")
        pb = arm.pose.bones[bone]
        for i, axis in enumerate(AXES):
            if ranges.get(axis) and pb.lock_rotation[i]:
                raise RigError(
                    f"{key}.pose_bones.{bone}.{axis}: the bone's {axis.upper()} rotation is locked in "
                    "the file (lock_rotation); drop the range or unlock the axis"
                )
    if rig.get("pose_actions") and arm is None:
        raise RigError(f"{key}.pose_actions: the mesh has no armature to pose")
    for i, kp in enumerate(rig["keypoints"]):
        if kp.get("bone") is not None and (arm is None or kp["bone"] not in arm.pose.bones):
            raise RigError(
                f"{key}.keypoints[{i}] ({kp['name']}).bone: no bone {kp['bone']!r}"
                + (f" in armature {arm.name!r}; it has {bones}" if arm else "; the mesh has no armature")
            )


def _check_shape_keys(mesh: bpy.types.Object, rig: dict, key: str) -> None:
    keys = mesh.data.shape_keys
    blocks = keys.key_blocks if keys is not None else {}
    for name, r in (rig.get("shape_keys") or {}).items():
        if name not in blocks:
            raise RigError(
                f"{key}.shape_keys.{name}: no shape key {name!r} on mesh {mesh.name!r}; it has "
                f"{sorted(blocks.keys()) if keys else 'none'}"
            )
        block = blocks[name]
        if block == keys.reference_key:
            raise RigError(f"{key}.shape_keys.{name}: {name!r} is the basis key; vary the keys relative to it")
        if r["min"] < block.slider_min or r["max"] > block.slider_max:
            raise RigError(
                f"{key}.shape_keys.{name}: range [{r['min']}, {r['max']}] leaves the key's slider range "
                f"[{block.slider_min}, {block.slider_max}] set in the file (Blender clamps to it)"
            )


def _group_weights(obj, mesh, group: str, key: str) -> np.ndarray:
    names = [g.name for g in obj.vertex_groups]
    if group not in names:
        raise RigError(f"{key}.vertex_group: no vertex group {group!r}; the mesh has {sorted(names) or 'none'}")
    gi = names.index(group)
    w = np.zeros(len(mesh.vertices))
    for v in mesh.vertices:
        for g in v.groups:
            if g.group == gi:
                w[v.index] = g.weight
    if not (w > 0).any():
        raise RigError(f"{key}.vertex_group: group {group!r} has no vertices with weight > 0")
    return w


def build(name: str, rig: dict) -> rigs.RigTemplate:
    """The template of an articulated rig (hidden, parked) and what every instance needs."""
    key = f"rigs.{name}"
    mesh_cfg = rig["mesh"]
    path = Path(mesh_cfg["path"])
    if not path.is_file():
        raise RigError(f"{key}.mesh.path: file {path} not found")
    imported = rigs._import_file(path, f"{key}.mesh")
    src = rigs._pick_object(imported, mesh_cfg.get("object"), f"{key}.mesh")
    unit = mesh_cfg["unit_scale"]
    arm = rigs._armature_of(src)
    _check_bones(arm, rig, key)
    _check_shape_keys(src, rig, key)
    empties = {o.name: o for o in imported if o.type == "EMPTY"}
    for i, kp in enumerate(rig["keypoints"]):
        if kp.get("empty") is not None and kp["empty"] not in empties:
            raise RigError(
                f"{key}.keypoints[{i}] ({kp['name']}).empty: no empty {kp['empty']!r} in {path}; "
                f"found {sorted(empties) or 'none'}"
            )
    actions = _load_actions(path, rig["pose_actions"]["names"], key) if rig.get("pose_actions") else {}

    wanted = {src, *([arm] if arm else []), *(empties[kp["empty"]] for kp in rig["keypoints"] if kp.get("empty"))}
    kept = set()
    for o in wanted:
        while o is not None and o not in kept:
            kept.add(o)
            o = o.parent
    ordered = sorted(kept, key=lambda o: (_depth(o), o.name))  # parents first
    world = {o: o.matrix_world.copy() for o in ordered}
    for o in [o for o in imported if o not in kept]:
        bpy.data.objects.remove(o, do_unlink=True)

    root = bpy.data.objects.new(f"{name}.template.root", None)
    bpy.context.scene.collection.objects.link(root)
    scale = rigs._rig_from_world(unit, mesh_turn.turn_of(mesh_cfg))  # the unit scale, then the turn
    for o in ordered:
        if o.parent is None:
            o.parent = root
            o.matrix_parent_inverse = Matrix.Identity(4)
            o.matrix_basis = scale @ world[o]
        ad = o.animation_data
        if ad is not None:  # the sampled pose rules; drivers stay
            ad.action = None
            for track in list(ad.nla_tracks):
                ad.nla_tracks.remove(track)
        o.hide_render = True
    keys = src.data.shape_keys
    if keys is not None and keys.animation_data is not None:
        keys.animation_data.action = None
    if not src.data.materials:
        src.data.materials.append(bpy.data.materials.new(f"{name}.surface"))
    slot_names = [m.name if m else f"slot{i}" for i, m in enumerate(src.data.materials)]
    rigs._shade_smooth(src.data)

    ranges = rig.get("pose_bones") or {}
    base, posed_actions, touched = {}, {}, set(ranges)
    if arm is not None:
        base = {pb.name: _decompose(pb.matrix_basis) for pb in arm.pose.bones}
        frame = (rig.get("pose_actions") or {}).get("frame")
        for action_name, action in actions.items():
            _deselect_bones(arm)
            arm.pose.apply_pose_from_action(action, evaluation_time=action.frame_range[0] if frame is None else frame)
            posed_actions[action_name] = {pb.name: _decompose(pb.matrix_basis) for pb in arm.pose.bones}
            touched |= {b for b, pose in posed_actions[action_name].items() if pose != base[b]}
            for pb in arm.pose.bones:
                pb.matrix_basis = Matrix.LocRotScale(*base[pb.name])
    posed_rig = PosedRig(
        key=key,
        objects=ordered,
        mesh_name=src.name,
        armature_name=arm.name if arm else None,
        sources=[],
        vertex_count=0,
        touched=sorted(touched),
        orders={b: r["order"] for b, r in ranges.items()},
        base=base,
        actions=posed_actions,
        own_mesh_data=bool(rig.get("shape_keys")),
    )
    template = Posed(posed_rig, root, {o.name: o for o in ordered})
    posed_rig.template = template
    bpy.context.view_layer.update()

    depsgraph = bpy.context.evaluated_depsgraph_get()
    baked = bpy.data.meshes.new_from_object(
        src.evaluated_get(depsgraph), preserve_all_data_layers=True, depsgraph=depsgraph
    )
    posed_rig.vertex_count = len(baked.vertices)
    for i, kp in enumerate(rig["keypoints"]):
        kkey = f"{key}.keypoints[{i}] ({kp['name']})"
        if kp.get("position") is not None:
            posed_rig.sources.append(("position", np.array(kp["position"], dtype=float)))
        elif kp.get("vertex") is not None:
            if not 0 <= kp["vertex"] < len(baked.vertices):
                raise RigError(
                    f"{kkey}.vertex: index {kp['vertex']} out of range; the evaluated mesh has "
                    f"{len(baked.vertices)} vertices (0..{len(baked.vertices) - 1})"
                )
            posed_rig.sources.append(("vertex", int(kp["vertex"])))
        elif kp.get("vertex_group") is not None:
            posed_rig.sources.append(("weights", _group_weights(src, baked, kp["vertex_group"], kkey)))
        elif kp.get("empty") is not None:
            posed_rig.sources.append(("empty", kp["empty"]))
        else:
            posed_rig.sources.append(("bone", (kp["bone"], kp.get("bone_end") or "head")))
    bpy.data.meshes.remove(baked)

    rest_keypoints = template.keypoints_world()  # the root is at the world origin: rig frame
    verts_rest = _to_world(_matrix(src.matrix_world), template.vertices_local())
    reach = [verts_rest, rest_keypoints]
    for extreme in _extremes(rig):  # the radius must hold in every pose
        template.pose(extreme)
        bpy.context.view_layer.update()
        reach += [_to_world(_matrix(src.matrix_world), template.vertices_local()), template.keypoints_world()]
    template.pose(_extremes(rig, rest=True)[0])
    bpy.context.view_layer.update()
    radius = float(max(np.linalg.norm(p, axis=1).max() for p in reach))
    center = (verts_rest.min(axis=0) + verts_rest.max(axis=0)) / 2
    extent = float(np.linalg.norm(verts_rest - center, axis=1).max())
    mesh_from_rig = np.linalg.inv(_matrix(src.matrix_world))
    root.location = PARKED
    src["rig2kp"] = name
    return rigs.RigTemplate(
        name, src, rest_keypoints, radius, center, extent, slot_names, posed=posed_rig, mesh_from_rig=mesh_from_rig
    )


def _depth(o) -> int:
    d = 0
    while o.parent is not None:
        o, d = o.parent, d + 1
    return d


def _extremes(rig: dict, rest: bool = False) -> list[dict]:
    """Articulations at the ends of the ranges (all low, all high) and each action alone; `rest`:
    the file's saved pose with every range at 0 and shape keys at their lower ends."""
    ranges = rig.get("pose_bones") or {}
    keys = rig.get("shape_keys") or {}
    if rest:
        return [{"bones": {b: [0.0, 0.0, 0.0] for b in ranges}, "shape_keys": {k: r["min"] for k, r in keys.items()}}]
    out = []
    for end in ("min", "max"):
        out.append(
            {
                "bones": {b: [np.radians(r[a][end]) if r.get(a) else 0.0 for a in AXES] for b, r in ranges.items()},
                "shape_keys": {k: r[end] for k, r in keys.items()},
            }
        )
    for action in (rig.get("pose_actions") or {}).get("names", []):
        out.append({"actions": [action], "blend": 0.0})
    return out
