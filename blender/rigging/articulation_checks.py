"""What a rig that moves asks of its file, checked before it is built (bpy): the bones and their
unlocked axes, the shape keys and their slider ranges, the actions, the vertex groups. Each
problem raises RigError naming the params key."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from blender.rigging.rigs import RigError
from common.render_spec import Rig

AXES = ("x", "y", "z")


def load_actions(path: Path, names: list[str], key: str) -> dict[str, bpy.types.Action]:
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        available = list(src.actions)
        missing = [n for n in names if n not in available]
        if missing:
            raise RigError(
                f"{key}.pose_actions.names: no action {missing[0]!r} in {path}; it has {sorted(available) or 'none'}"
            )
        dst.actions = list(names)
    return dict(zip(names, dst.actions))


def check_bones(arm, rig: Rig, key: str) -> None:
    bones = sorted(arm.pose.bones.keys()) if arm is not None else []
    for bone, ranges in rig.pose_bones.items():
        if arm is None:
            raise RigError(
                f"{key}.pose_bones: the mesh has no armature (an Armature modifier or an armature "
                "parent), so it has no bones to pose"
            )
        if bone not in arm.pose.bones:
            raise RigError(f"{key}.pose_bones.{bone}: no bone {bone!r} in armature {arm.name!r}; it has {bones}")
        pb = arm.pose.bones[bone]
        for i, axis in enumerate(AXES):
            if getattr(ranges, axis) and pb.lock_rotation[i]:
                raise RigError(
                    f"{key}.pose_bones.{bone}.{axis}: the bone's {axis.upper()} rotation is locked in "
                    "the file (lock_rotation); drop the range or unlock the axis"
                )
    if rig.pose_actions and arm is None:
        raise RigError(f"{key}.pose_actions: the mesh has no armature to pose")
    for i, kp in enumerate(rig.keypoints):
        if kp.bone is not None and (arm is None or kp.bone not in arm.pose.bones):
            raise RigError(
                f"{key}.keypoints[{i}] ({kp.name}).bone: no bone {kp.bone!r}"
                + (f" in armature {arm.name!r}; it has {bones}" if arm else "; the mesh has no armature")
            )


def check_shape_keys(mesh: bpy.types.Object, rig: Rig, key: str) -> None:
    keys = mesh.data.shape_keys
    blocks = keys.key_blocks if keys is not None else {}
    for name, r in rig.shape_keys.items():
        if name not in blocks:
            raise RigError(
                f"{key}.shape_keys.{name}: no shape key {name!r} on mesh {mesh.name!r}; it has "
                f"{sorted(blocks.keys()) if keys else 'none'}"
            )
        block = blocks[name]
        if block == keys.reference_key:
            raise RigError(f"{key}.shape_keys.{name}: {name!r} is the basis key; vary the keys relative to it")
        if r.min < block.slider_min or r.max > block.slider_max:
            raise RigError(
                f"{key}.shape_keys.{name}: range [{r.min}, {r.max}] leaves the key's slider range "
                f"[{block.slider_min}, {block.slider_max}] set in the file (Blender clamps to it)"
            )


def group_weights(obj, mesh, group: str, key: str) -> np.ndarray:
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
