"""The rigs in Blender (bpy): each rig built once (its template, symmetry group and looks), a pool of
its instances made up front, and per image the first n of each pool placed, posed and dressed from
blender/rigging/instance_draw.py's draws (the rest parked)."""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Quaternion

from blender.rigging import articulation, rigs
from blender.surfaces import looks
from blender.world.scene_parts import PARKED
from common.render_spec import Rig


class RigInstances:
    def __init__(self, scene, rigs_spec: dict[str, Rig]):
        self.spec = rigs_spec
        self.templates = {
            name: (articulation.build if rig.articulated() else rigs.build)(name, rig)
            for name, rig in rigs_spec.items()
        }
        self.groups = {
            name: rigs.symmetry_group(name, rig, self.templates[name])
            for name, rig in rigs_spec.items()
            if rig.symmetry is not None
        }
        plans = {
            name: looks.prepare(name, rig, self.templates[name], getattr(rig.mesh, "path", None))
            for name, rig in rigs_spec.items()
        }
        decal_images = {name: looks.load_decal_images(name, rig) for name, rig in rigs_spec.items()}
        self.pools: dict[str, list] = {}
        self.posed: dict = {}  # mesh object of an articulated instance -> its posed.Posed
        pass_index = 1
        for name, rig in rigs_spec.items():
            tpl = self.templates[name]
            pool = []
            for k in range(int(rig.instances.max)):
                if tpl.posed is not None:  # its own armature and mesh, linked and parked
                    inst = tpl.posed.instance(f"{name}.{k}", scene.collection)
                    obj = inst.mesh
                    self.posed[obj] = inst
                else:
                    obj = tpl.obj.copy()
                    obj.name = f"{name}.{k}"
                obj.hide_render = False
                obj.pass_index = pass_index
                pass_index += 1
                mats = looks.instance_looks(obj, plans[name], rig, decal_images[name], f"{name}.{k}")
                if tpl.posed is None:
                    obj.location = PARKED
                    scene.collection.objects.link(obj)
                pool.append((obj, mats))
            self.pools[name] = pool

    def apply(self, draws: list[dict]) -> list[tuple[str, bpy.types.Object]]:
        """Show one image's rig instances; returns them as (rig name, object), in the draws' order."""
        shown, used = [], {name: 0 for name in self.pools}
        for o in draws:
            obj, mats = self.pools[o["rig"]][o["slot"]]
            used[o["rig"]] = max(used[o["rig"]], o["slot"] + 1)
            handle = self.handle(obj)
            handle.location = o["location"]
            handle.rotation_mode = "QUATERNION"
            handle.rotation_quaternion = Quaternion(o["rotation"])
            handle.scale = (o["scale"],) * 3
            if obj in self.posed:
                self.posed[obj].pose(o.get("articulation", {}))
            looks.apply(mats, o, self.spec[o["rig"]])
            shown.append((o["rig"], obj))
        for name, pool in self.pools.items():
            for obj, _ in pool[used[name] :]:
                self.handle(obj).location = PARKED
        return shown

    def handle(self, obj) -> bpy.types.Object:
        """What carries an instance's transform: its root empty when it moves, else the object."""
        return self.posed[obj].root if obj in self.posed else obj

    def keypoints_world(self, rig_name: str, obj) -> np.ndarray:
        """K x 3 world keypoints of a shown instance: its template's, moved rigidly; or, for a rig
        that moves, read from the instance's evaluated pose and deformed mesh."""
        if obj in self.posed:
            return self.posed[obj].keypoints_world()
        m = np.array(obj.matrix_world)
        return self.templates[rig_name].keypoints_local @ m[:3, :3].T + m[:3, 3]
