"""The distractors in Blender (bpy): a pool of primitive shapes made once, set per image from
blender/world/distractor_draw.py's draws (unused ones parked), a mesh file in place of some."""

from __future__ import annotations

import bpy
from mathutils import Quaternion

from blender.surfaces.materials import apply_material, make_material
from blender.world.mesh_distractors import MeshDistractors
from blender.world.scene_parts import PARKED, distractor_meshes
from common.render_spec import Distractors as DistractorsSpec


class Distractors:
    def __init__(self, scene, cfg: DistractorsSpec):
        shapes = distractor_meshes()
        for mesh in shapes.values():
            mesh.materials.append(None)  # one slot, filled per object
        self.shapes = shapes
        self.pool = []
        for k in range(int(cfg.count.max)):
            obj = bpy.data.objects.new(f"distractor.{k}", shapes["cube"])
            scene.collection.objects.link(obj)
            obj.location = PARKED
            self.pool.append((obj, make_material(f"distractor.{k}")))
        self.mesh_files = MeshDistractors(cfg.meshes) if cfg.meshes else None

    def apply(self, draws: list[dict]) -> list:
        """Show one image's distractors; returns the objects shown, in the draws' order."""
        shown = []
        for k, ((obj, mat), d) in enumerate(zip(self.pool, draws + [None] * len(self.pool))):
            if d is None:
                obj.location = PARKED
                continue
            shown.append(obj)
            if "mesh" in d:  # a mesh file instead of the primitive: same pose, its own size and look
                obj.location = d["location"]
                obj.rotation_mode = "QUATERNION"
                obj.rotation_quaternion = Quaternion(d["rotation"])
                self.mesh_files.show(obj, k, mat, d)
                continue
            obj.data = self.shapes[d["shape"]]
            obj.material_slots[0].link = "OBJECT"
            obj.material_slots[0].material = mat
            obj.location = d["location"]
            obj.rotation_mode = "QUATERNION"
            obj.rotation_quaternion = Quaternion(d["rotation"])
            obj.scale = (d["size"],) * 3
            apply_material(mat, d["material"])
        return shown
