"""Mesh files as distractors (bpy): imported once, shown by the distractor pool objects per image.

Each file becomes one mesh (several mesh objects are joined, transforms applied), centred on its
bounding box and scaled so its largest side is 1, so an object scale of `mesh_size` gives that many
metres. A pool object shows a mesh by taking it as its data, exactly as it takes a primitive's, so
the scene's ray casts (visibility) see it like any primitive. Looks: keep (the file's materials,
textures checked, vertex colours wired), jitter (a copy per pool object, mesh and slot, made on
first use) or replace (the pool object's procedural material, drawn from the mesh ranges).
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from blender.rigging import rigs
from blender.rigging.rigs import RigError
from blender.surfaces import materials as mt
from blender.surfaces import wear
from common.render_spec import MeshDistractors as MeshDistractorsSpec

KEY = "render.distractors.meshes"


def _join(objects: list, name: str) -> bpy.types.Mesh:
    """One mesh holding every mesh object's evaluated geometry in world space (materials, UVs, colours)."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    parts = []
    for obj in objects:
        mesh = bpy.data.meshes.new_from_object(
            obj.evaluated_get(depsgraph), preserve_all_data_layers=True, depsgraph=depsgraph
        )
        mesh.transform(obj.matrix_world)
        part = bpy.data.objects.new(f"{name}.part", mesh)
        bpy.context.scene.collection.objects.link(part)
        parts.append(part)
    if len(parts) > 1:
        with bpy.context.temp_override(
            active_object=parts[0], object=parts[0], selected_objects=parts, selected_editable_objects=parts
        ):
            bpy.ops.object.join()
    mesh = parts[0].data
    mesh.name = name
    bpy.data.objects.remove(parts[0], do_unlink=True)
    return mesh


def _normalise(mesh: bpy.types.Mesh) -> None:
    """Bounding-box centre to the origin, largest side to 1."""
    co = np.empty(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    lo, hi = co.min(axis=0), co.max(axis=0)
    side = float((hi - lo).max())
    mesh.transform(Matrix.Scale(1.0 / side, 4) @ Matrix.Translation(tuple(-(lo + hi) / 2)))


class MeshDistractors:
    """The distractor meshes of `render.distractors.meshes` and their looks."""

    def __init__(self, cfg: MeshDistractorsSpec):
        self.mode = cfg.materials.mode
        self.wear = self.mode == "jitter" and bool(cfg.materials.wear)
        self.meshes: list[bpy.types.Mesh] = []
        for i, path in enumerate(cfg.files):
            where = f"{KEY}.paths: {path}"
            imported = rigs._import_file(Path(path), where)
            meshes = [o for o in imported if o.type == "MESH" and len(o.data.vertices) > 0]
            if not meshes:
                raise RigError(f"{where}: the file holds no mesh with vertices")
            mesh = _join(meshes, f"distractor_mesh.{i}")
            for o in imported:
                bpy.data.objects.remove(o, do_unlink=True)
            _normalise(mesh)
            self._prepare_looks(mesh, i, path, where)
            self.meshes.append(mesh)
        self.copies: dict[tuple[int, int, int], bpy.types.Material] = {}

    def _prepare_looks(self, mesh, i: int, path: str, where: str) -> None:
        if not mesh.materials:
            mesh.materials.append(None)
        for k, mat in enumerate(mesh.materials):
            if mat is None:
                mat = bpy.data.materials.new(f"distractor_mesh.{i}.slot{k}")
                mat[rigs.BLANK] = True
                mesh.materials[k] = mat
        if self.mode == "replace":
            return
        colors = mt.color_attribute(mesh)
        for mat in mesh.materials:
            if not mt.carries_color(mat, mesh):
                raise RigError(
                    f"{KEY}.materials: {self.mode} needs each mesh's own material or vertex colours, "
                    f"and {path} (material {mat.name!r}) has neither; use replace"
                )
            mt.check_textures(mat, where, path)
            if colors is not None:
                mt.wire_vertex_colors(mat, colors)

    def show(self, obj, k: int, pool_material, d: dict) -> None:
        """Pool object number `k` shows mesh `d["mesh"]` at its size with its look for this image."""
        i = d["mesh"]
        mesh = self.meshes[i]
        obj.data = mesh
        obj.scale = (d["mesh_size"],) * 3
        for s, slot in enumerate(obj.material_slots):
            if self.mode == "keep":
                slot.link = "DATA"
                continue
            slot.link = "OBJECT"
            if self.mode == "replace":
                slot.material = pool_material
                mt.apply_material(pool_material, d["mesh_material"])
            else:
                slot.material = self._jitter_copy(k, i, s)
                mt.apply_jitter(slot.material, d["mesh_material"])
                if self.wear:
                    wear.apply_wear(slot.material, d["mesh_material"]["wear"])

    def _jitter_copy(self, k: int, i: int, s: int):
        if (k, i, s) not in self.copies:
            mat = self.meshes[i].materials[s].copy()
            mat.name = f"distractor.{k}.mesh{i}.slot{s}"
            mt.add_jitter(mat)
            if self.wear:
                wear.add_wear(mat)
            self.copies[(k, i, s)] = mat
        return self.copies[(k, i, s)]
