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

This module builds the template; the instances are blender/rigging/posed.py's, and what the file must
hold is checked by blender/rigging/articulation_checks.py.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from blender.rigging import mesh_turn, rigs
from blender.rigging.articulation_checks import AXES, check_bones, check_shape_keys, group_weights, load_actions
from blender.rigging.posed import PARKED, Posed, PosedRig, matrix, to_world
from blender.rigging.rigs import RigError
from common.render_spec import Rig


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


def build(name: str, rig: Rig) -> rigs.RigTemplate:
    """The template of an articulated rig (hidden, parked) and what every instance needs."""
    key = f"rigs.{name}"
    mesh_cfg = rig.mesh
    path = Path(mesh_cfg.path)
    if not path.is_file():
        raise RigError(f"{key}.mesh.path: file {path} not found")
    imported = rigs._import_file(path, f"{key}.mesh")
    src = rigs._pick_object(imported, mesh_cfg.object, f"{key}.mesh")
    unit = mesh_cfg.unit_scale
    arm = rigs._armature_of(src)
    check_bones(arm, rig, key)
    check_shape_keys(src, rig, key)
    empties = {o.name: o for o in imported if o.type == "EMPTY"}
    for i, kp in enumerate(rig.keypoints):
        if kp.empty is not None and kp.empty not in empties:
            raise RigError(
                f"{key}.keypoints[{i}] ({kp.name}).empty: no empty {kp.empty!r} in {path}; "
                f"found {sorted(empties) or 'none'}"
            )
    actions = load_actions(path, rig.pose_actions.names, key) if rig.pose_actions else {}

    wanted = {src, *([arm] if arm else []), *(empties[kp.empty] for kp in rig.keypoints if kp.empty)}
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

    ranges = rig.pose_bones
    base, posed_actions, touched = {}, {}, set(ranges)
    if arm is not None:
        base = {pb.name: _decompose(pb.matrix_basis) for pb in arm.pose.bones}
        frame = rig.pose_actions.frame if rig.pose_actions else None
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
        orders={b: r.order for b, r in ranges.items()},
        base=base,
        actions=posed_actions,
        own_mesh_data=bool(rig.shape_keys),
    )
    template = Posed(posed_rig, root, {o.name: o for o in ordered})
    posed_rig.template = template
    bpy.context.view_layer.update()

    depsgraph = bpy.context.evaluated_depsgraph_get()
    baked = bpy.data.meshes.new_from_object(
        src.evaluated_get(depsgraph), preserve_all_data_layers=True, depsgraph=depsgraph
    )
    posed_rig.vertex_count = len(baked.vertices)
    for i, kp in enumerate(rig.keypoints):
        kkey = f"{key}.keypoints[{i}] ({kp.name})"
        if kp.position is not None:
            posed_rig.sources.append(("position", np.array(kp.position, dtype=float)))
        elif kp.vertex is not None:
            if not 0 <= kp.vertex < len(baked.vertices):
                raise RigError(
                    f"{kkey}.vertex: index {kp.vertex} out of range; the evaluated mesh has "
                    f"{len(baked.vertices)} vertices (0..{len(baked.vertices) - 1})"
                )
            posed_rig.sources.append(("vertex", int(kp.vertex)))
        elif kp.vertex_group is not None:
            posed_rig.sources.append(("weights", group_weights(src, baked, kp.vertex_group, kkey)))
        elif kp.empty is not None:
            posed_rig.sources.append(("empty", kp.empty))
        else:
            posed_rig.sources.append(("bone", (kp.bone, kp.bone_end or "head")))
    bpy.data.meshes.remove(baked)

    rest_keypoints = template.keypoints_world()  # the root is at the world origin: rig frame
    verts_rest = to_world(matrix(src.matrix_world), template.vertices_local())
    reach = [verts_rest, rest_keypoints]
    for extreme in _extremes(rig):  # the radius must hold in every pose
        template.pose(extreme)
        bpy.context.view_layer.update()
        reach += [to_world(matrix(src.matrix_world), template.vertices_local()), template.keypoints_world()]
    template.pose(_extremes(rig, rest=True)[0])
    bpy.context.view_layer.update()
    radius = float(max(np.linalg.norm(p, axis=1).max() for p in reach))
    center = (verts_rest.min(axis=0) + verts_rest.max(axis=0)) / 2
    extent = float(np.linalg.norm(verts_rest - center, axis=1).max())
    mesh_from_rig = np.linalg.inv(matrix(src.matrix_world))
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


def _extremes(rig: Rig, rest: bool = False) -> list[dict]:
    """Articulations at the ends of the ranges (all low, all high) and each action alone; `rest`:
    the file's saved pose with every range at 0 and shape keys at their lower ends."""
    ranges, keys = rig.pose_bones, rig.shape_keys
    if rest:
        return [{"bones": {b: [0.0, 0.0, 0.0] for b in ranges}, "shape_keys": {k: r.min for k, r in keys.items()}}]
    out = []
    for end in ("min", "max"):
        out.append(
            {
                "bones": {
                    b: [np.radians(getattr(getattr(r, a), end)) if getattr(r, a) else 0.0 for a in AXES]
                    for b, r in ranges.items()
                },
                "shape_keys": {k: getattr(r, end) for k, r in keys.items()},
            }
        )
    for action in rig.pose_actions.names if rig.pose_actions else ():
        out.append({"actions": [action], "blend": 0.0})
    return out
