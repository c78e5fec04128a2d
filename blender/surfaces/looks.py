"""Each rig slot's look in Blender (bpy): replace, keep or jitter, plus decals, per instance.

`prepare` runs once per rig template: it resolves each slot's mode (its own entry, then "*", then
keep for a slot whose mesh file gives it a look, else the blank grey as before), checks that what is
asked for exists (slots, colours, textures, UV maps, decal images; RigError naming the params key)
and wires vertex colours into kept materials. `instance_looks` gives one rig instance its own
materials where something varies per image; `apply` sets one image's values on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy

from blender.rigging.rigs import BLANK, RigError, RigTemplate
from blender.surfaces import decals as decal_nodes
from blender.surfaces import materials as mt
from blender.surfaces import wear
from blender.surfaces.appearance import slot_entry
from common.render_spec import Material, Rig


@dataclass
class SlotPlan:
    """What one material slot of a rig shows. `mode` None: the slot stays as built (no entry, nothing to keep)."""

    name: str
    mode: str | None
    entry: Material | None
    decals: list[int] = field(default_factory=list)  # indices into the rig's decals


@dataclass
class SlotLook:
    """One instance's material for a slot whose look is set per image."""

    name: str
    mode: str | None
    material: bpy.types.Material
    decals: list[int]


def _entry_key(materials: dict, slot: str) -> str:
    return slot if slot in materials else "*"


def prepare(name: str, rig: Rig, tpl: RigTemplate, mesh_file: str | None) -> list[SlotPlan]:
    """Plan each slot of rig `name` and make its kept materials ready; RigError on anything missing."""
    key = f"rigs.{name}"
    materials, decals = rig.materials, rig.decals
    mesh = tpl.obj.data
    names = tpl.slot_names
    for slot, entry in materials.items():
        if slot != "*" and slot not in names and entry.mode in ("keep", "jitter"):
            raise RigError(f"{key}.materials.{slot}: no material slot {slot!r}; the mesh has {names}")
    for i, d in enumerate(decals):
        for slot in d.slots:
            if slot != "*" and slot not in names:
                raise RigError(f"{key}.decals[{i}].slots: no material slot {slot!r}; the mesh has {names}")
        if d.projection == "uv" and not mesh.uv_layers:
            raise RigError(
                f"{key}.decals[{i}].projection: uv needs a UV map and the mesh has none; use planar or cylinder"
            )
    vertex_colors = mt.color_attribute(mesh)
    plans = []
    for i, slot in enumerate(names):
        entry = slot_entry(materials, slot)
        mode = None if entry is None else entry.mode
        mat = mesh.materials[i]
        if mode in ("keep", "jitter") and not mt.carries_color(mat, mesh):
            raise RigError(
                f"{key}.materials.{_entry_key(materials, slot)}: {mode} needs the mesh's own material "
                f"or vertex colours, and slot {slot!r} has neither; give it replace ranges, or use a "
                "mesh file with materials (OBJ+MTL, glTF, .blend) or vertex colours"
            )
        if mode is None and mt.carries_color(mat, mesh):
            mode = "keep"  # a mesh that carries colour shows it unless params say otherwise
        if mode in ("keep", "jitter"):
            mat = _own_material(mesh, i, name)
            where = f"{key}.materials.{_entry_key(materials, slot)}" if entry is not None else f"{key}.mesh.path"
            mt.check_textures(mat, where, mesh_file or "the mesh")
            if vertex_colors is not None:
                mt.wire_vertex_colors(mat, vertex_colors)
        on = [j for j, d in enumerate(decals) if "*" in d.slots or slot in d.slots]
        plans.append(SlotPlan(slot, mode, entry, on))
    return plans


def _own_material(mesh, i: int, name: str) -> bpy.types.Material:
    """The slot's material, a new blank one where the slot is empty (vertex colours go there)."""
    mat = mesh.materials[i]
    if mat is None:
        mat = bpy.data.materials.new(f"{name}.slot{i}")
        mat[BLANK] = True
        mesh.materials[i] = mat
    return mat


def load_decal_images(name: str, rig: Rig) -> list:
    return [decal_nodes.load_image(d.image, f"rigs.{name}.decals[{i}].image") for i, d in enumerate(rig.decals)]


def instance_looks(obj, plans: list[SlotPlan], rig: Rig, images: list, prefix: str) -> list[SlotLook]:
    """Give instance `obj` its own material in every slot that varies per image (replace, jitter,
    or any slot with a decal); kept slots without decals share the template's material."""
    looks = []
    decals = rig.decals
    for i, slot in enumerate(obj.material_slots):
        plan = plans[i]
        if plan.mode == "replace":
            mat = mt.make_material(
                f"{prefix}.{plan.name}", "brick" if plan.name == "label" else "noise", plan.entry.pictograms
            )
        elif plan.mode == "jitter" or plan.decals:
            base = slot.material
            if base is None:  # an untouched empty slot: decals print on a plain grey material
                base = bpy.data.materials.new(f"{prefix}.{plan.name}.base")
            mat = base.copy()
            mat.name = f"{prefix}.{plan.name}"
            mt.ensure_nodes(mat)
            if plan.mode == "jitter":
                mt.add_jitter(mat)
        else:
            continue
        for j in plan.decals:
            decal_nodes.add_decal(mat, decals[j], j, images[j])
        if plan.mode == "jitter" and plan.entry.wear:
            wear.add_wear(mat)
        slot.link = "OBJECT"
        slot.material = mat
        looks.append(SlotLook(plan.name, plan.mode, mat, plan.decals))
    return looks


def apply(looks: list[SlotLook], obj_sample: dict, rig: Rig) -> None:
    """Set one image's values of one instance: its `materials` and `decals` (see sampling.sample_scene)."""
    decals = rig.decals
    for look in looks:
        values = slot_entry(obj_sample["materials"], look.name)
        if look.mode == "replace":
            mt.apply_material(look.material, values)
        elif look.mode == "jitter":
            mt.apply_jitter(look.material, values)
            if "wear" in values:
                wear.apply_wear(look.material, values["wear"])
        for j in look.decals:
            decal_nodes.apply_decal(look.material, decals[j], j, obj_sample["decals"][j])
