"""Build a rig's template object in Blender and locate its keypoints on the evaluated mesh (bpy).

The template's mesh is baked from the evaluated object (modifiers and armature pose applied) with
the unit scale, the file's object transform and the mesh's turn (blender/rigging/mesh_turn.py: `up_axis`,
`rotation_deg`) folded in, so its object space is the rig frame in metres and every instance is a
plain linked copy. Keypoint problems raise RigError naming the params key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from blender.rigging import mesh_turn, shapes
from common import symmetry
from common.render_spec import Keypoint, Rig

BLANK = "rig2kp_blank"  # custom property of the plain materials made here: they carry no look to keep


class RigError(ValueError):
    """A rig that does not match its mesh; the message names the params key."""


@dataclass
class RigTemplate:
    name: str
    obj: bpy.types.Object  # hidden template; instances copy it
    keypoints_local: np.ndarray  # K x 3, object space, metres
    radius: float  # bounding sphere radius about the origin, metres
    center: np.ndarray  # bounding box centre, object space, metres
    extent: float  # largest distance of a vertex from `center`, metres
    slot_names: list[str]
    posed: object | None = None  # posed.PosedRig of a rig that moves; None: baked, linked copies
    mesh_from_rig: np.ndarray | None = None  # 4x4: rig frame (metres) -> the mesh's object space (file units)


def _mesh_from_shape(name: str, shape: shapes.Shape) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(shape.vertices.tolist(), [], [list(f) for f in shape.faces])
    for slot in shape.slot_names:
        mesh.materials.append(bpy.data.materials.new(f"{name}.{slot}"))
        mesh.materials[-1][BLANK] = True
    mesh.polygons.foreach_set("material_index", shape.face_slots)  # after the slots exist, or it is clamped
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    for group, indices in shape.groups.items():
        obj.vertex_groups.new(name=group).add(indices, 1.0, "REPLACE")
    return obj


def _import_file(path: Path, key: str) -> list[bpy.types.Object]:
    suffix = path.suffix.lower()
    before = set(bpy.data.objects)
    if suffix == ".blend":
        with bpy.data.libraries.load(str(path), link=False) as (src, dst):
            dst.objects = list(src.objects)
        for obj in dst.objects:
            if obj is not None:
                bpy.context.scene.collection.objects.link(obj)
    else:
        ops = {
            ".obj": [("wm", "obj_import"), ("import_scene", "obj")],
            ".ply": [("wm", "ply_import"), ("import_mesh", "ply")],
            ".stl": [("wm", "stl_import"), ("import_mesh", "stl")],
            ".glb": [("import_scene", "gltf")],
            ".gltf": [("import_scene", "gltf")],
        }[suffix]
        for module, op in ops:
            fn = getattr(getattr(bpy.ops, module), op)
            try:
                fn.get_rna_type()
            except (KeyError, AttributeError):
                continue
            props = fn.get_rna_type().properties.keys()
            axes = {}
            if "forward_axis" in props:  # keep the file's own axes: positions are file coordinates
                axes = {"forward_axis": "Y", "up_axis": "Z"}
            elif "axis_forward" in props:
                axes = {"axis_forward": "Y", "axis_up": "Z"}
            try:
                fn(filepath=str(path), **axes)
            except RuntimeError as exc:  # the importer's own failure: its last exception line says why
                lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
                why = ([ln for ln in lines if "Error:" in ln] or lines or [repr(exc)])[-1][:300]
                raise RigError(f"{key}: Blender {bpy.app.version_string} could not import {path}: {why}") from None
            break
        else:
            raise RigError(
                f"{key}: this Blender ({bpy.app.version_string}) has no importer for "
                f"{suffix} files; convert the mesh to .obj or use Blender >= 4.2"
            )
    bpy.context.view_layer.update()  # appended objects get their world matrices here
    return [o for o in bpy.data.objects if o not in before]


def _pick_object(objects, wanted: str | None, key: str) -> bpy.types.Object:
    meshes = [o for o in objects if o.type == "MESH"]
    if wanted is not None:
        for o in meshes:
            if o.name == wanted:
                return o
        raise RigError(f"{key}.object: no mesh object {wanted!r}; the file has {sorted(o.name for o in meshes)}")
    if len(meshes) != 1:
        raise RigError(
            f"{key}.object: the file has {len(meshes)} mesh objects "
            f"{sorted(o.name for o in meshes)}; expected one, or name it in mesh.object"
        )
    return meshes[0]


def _rig_from_world(unit_scale: float, turn: np.ndarray | None) -> Matrix:
    """File world (file units) -> rig frame (metres): the unit scale, then the turn if there is one."""
    m = Matrix.Scale(unit_scale, 4)
    return m if turn is None else Matrix(turn.tolist()) @ m


def _bake(src: bpy.types.Object, name: str, unit_scale: float, turn: np.ndarray | None = None) -> bpy.types.Object:
    """A new object whose mesh is src's evaluated mesh in world space times unit_scale, turned."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = src.evaluated_get(depsgraph)
    mesh = bpy.data.meshes.new_from_object(evaluated, preserve_all_data_layers=True, depsgraph=depsgraph)
    mesh.transform(_rig_from_world(unit_scale, turn) @ src.matrix_world)
    mesh.name = name
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    for group in src.vertex_groups:
        obj.vertex_groups.new(name=group.name)
    return obj


def _armature_of(mesh: bpy.types.Object) -> bpy.types.Object | None:
    """The armature deforming a mesh: its Armature modifier's object, else an armature parent."""
    for mod in mesh.modifiers:
        if mod.type == "ARMATURE" and mod.object is not None:
            return mod.object
    p = mesh.parent
    return p if p is not None and p.type == "ARMATURE" else None


def _bone_point(arm, kp: Keypoint, key: str) -> np.ndarray:
    """World position (file units) of a keypoint's bone head or tail in the armature's current pose."""
    if arm is None or kp.bone not in arm.pose.bones:
        found = f"; armature {arm.name!r} has {sorted(arm.pose.bones.keys())}" if arm else "; the mesh has no armature"
        raise RigError(f"{key}.bone: no bone {kp.bone!r}{found}")
    pb = arm.pose.bones[kp.bone]
    end = pb.tail if kp.bone_end == "tail" else pb.head
    return np.array(arm.matrix_world @ end)


def _shade_smooth(mesh) -> None:
    """Smooth shading that keeps creases sharper than ~35 degrees."""
    try:
        mesh.shade_smooth()
        mesh.set_sharp_from_angle(angle=0.6)
    except AttributeError:  # Blender < 4.1
        mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
        mesh.use_auto_smooth, mesh.auto_smooth_angle = True, 0.6


def slot_names(obj: bpy.types.Object, kind: str) -> list[str]:
    """The names `materials:` keys use: a file's material names (`slotN` for an empty slot), a
    built-in shape's slot names without the rig prefix."""
    return [
        m.name.split(".")[-1] if m and kind != "file" else (m.name if m else f"slot{i}")
        for i, m in enumerate(obj.data.materials)
    ]


def _turned(points: np.ndarray, turn: np.ndarray | None) -> np.ndarray:
    """Points (... x 3) turned into the rig frame; untouched without a turn."""
    return points if turn is None else points @ turn[:3, :3].T


def _vertices(mesh) -> np.ndarray:
    co = np.empty(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def _group_centroid(obj, group: str, key: str) -> np.ndarray:
    names = [g.name for g in obj.vertex_groups]
    if group not in names:
        raise RigError(f"{key}.vertex_group: no vertex group {group!r}; the mesh has {sorted(names) or 'none'}")
    gi = names.index(group)
    verts = _vertices(obj.data)
    total, weight = np.zeros(3), 0.0
    for v in obj.data.vertices:
        for g in v.groups:
            if g.group == gi and g.weight > 0:
                total += g.weight * verts[v.index]
                weight += g.weight
    if weight == 0:
        raise RigError(f"{key}.vertex_group: group {group!r} has no vertices with weight > 0")
    return total / weight


def build(name: str, rig: Rig, objects_before_import: list | None = None) -> RigTemplate:
    """Create the template of rig `name` and resolve its keypoints."""
    key = f"rigs.{name}"
    mesh_cfg = rig.mesh
    kind = mesh_cfg.type
    empties: dict[str, np.ndarray] = {}
    imported: list = []
    unit = 1.0
    turn = None  # file axes -> rig axes; None: the file's own
    if kind == "box":
        src = _mesh_from_shape(f"{name}.src", shapes.box(mesh_cfg.size))
        if mesh_cfg.bevel > 0:
            mod = src.modifiers.new("bevel", "BEVEL")
            mod.width, mod.segments, mod.limit_method = mesh_cfg.bevel, 3, "NONE"
    elif kind == "glue_tube":
        src = _mesh_from_shape(
            f"{name}.src",
            shapes.glue_tube(
                mesh_cfg.length,
                mesh_cfg.radius,
                mesh_cfg.cap_length,
                mesh_cfg.cap_radius,
                mesh_cfg.squeeze,
            ),
        )
    else:
        path = Path(mesh_cfg.path)
        if not path.is_file():
            raise RigError(f"{key}.mesh.path: file {path} not found")
        imported = _import_file(path, f"{key}.mesh")
        src = _pick_object(imported, mesh_cfg.object, f"{key}.mesh")
        unit = mesh_cfg.unit_scale
        turn = mesh_turn.turn_of(mesh_cfg)
        for o in imported:
            if o.type == "EMPTY":
                empties[o.name] = _turned(np.array(o.matrix_world.translation) * unit, turn)
    src_world = src.matrix_world.copy()
    obj = _bake(src, f"{name}.template", unit, turn)
    file_to_metres = np.array(src.matrix_world) * unit if kind == "file" else np.eye(4)
    if turn is not None:
        file_to_metres = turn @ file_to_metres
    if not obj.data.materials:  # a bare mesh file still gets one slot, so "*" ranges apply to it
        obj.data.materials.append(bpy.data.materials.new(f"{name}.surface"))
        obj.data.materials[-1][BLANK] = True
    slots = slot_names(obj, kind)
    if kind != "box":  # curved shapes shade smooth, keeping creases sharper than ~35 degrees
        _shade_smooth(obj.data)

    verts = _vertices(obj.data)
    keypoints = []
    for i, kp in enumerate(rig.keypoints):
        kkey = f"{key}.keypoints[{i}] ({kp.name})"
        if kp.position is not None:
            keypoints.append((file_to_metres @ np.array([*kp.position, 1.0]))[:3])
        elif kp.vertex is not None:
            if not 0 <= kp.vertex < len(verts):
                raise RigError(
                    f"{kkey}.vertex: index {kp.vertex} out of range; the evaluated mesh has "
                    f"{len(verts)} vertices (0..{len(verts) - 1})"
                )
            keypoints.append(verts[kp.vertex])
        elif kp.vertex_group is not None:
            keypoints.append(_group_centroid(obj, kp.vertex_group, kkey))
        elif kp.bone is not None:
            keypoints.append(_turned(_bone_point(_armature_of(src), kp, kkey) * unit, turn))
        else:
            if kp.empty not in empties:
                raise RigError(
                    f"{kkey}.empty: no empty {kp.empty!r} in {getattr(mesh_cfg, 'path', 'the mesh')}; "
                    f"found {sorted(empties) or 'none'}"
                )
            keypoints.append(empties[kp.empty])
    for o in {src, *imported}:
        bpy.data.objects.remove(o, do_unlink=True)
    obj["rig2kp"] = name
    kp_arr = np.array(keypoints, dtype=float).reshape(-1, 3)
    radius = float(max(np.linalg.norm(verts, axis=1).max(), np.linalg.norm(kp_arr, axis=1).max()))
    obj.hide_render = True
    obj.location = (0.0, 0.0, -1000.0)
    center = (verts.min(axis=0) + verts.max(axis=0)) / 2
    extent = float(np.linalg.norm(verts - center, axis=1).max())
    mesh_from_rig = np.linalg.inv(np.array(_rig_from_world(unit, turn) @ src_world)) if kind == "file" else np.eye(4)
    return RigTemplate(name, obj, kp_arr, radius, center, extent, slots, mesh_from_rig=mesh_from_rig)


def symmetry_group(name: str, rig: Rig, tpl: RigTemplate) -> list[list[int]]:
    """The rig's symmetry as keypoint permutations (common/symmetry.py), from its rest keypoints."""
    kp = tpl.keypoints_local
    in_mesh = kp @ tpl.mesh_from_rig[:3, :3].T + tpl.mesh_from_rig[:3, 3]
    names = [k.name for k in rig.keypoints]
    try:
        return symmetry.resolve(rig.symmetry, names, [k.sigma for k in rig.keypoints], in_mesh, f"rigs.{name}.symmetry")
    except symmetry.SymmetryError as exc:
        raise RigError(str(exc)) from None
