"""The rigs' per-image draw (pure): how many instances of each rig, where, turned how, scaled, their
looks and decals, and a moving rig's pose; from the objects, materials, appearance, decals,
pose_bones and shape_keys streams. Each instance's bounding sphere is left in `ctx.placed`."""

from __future__ import annotations

import math

from blender.random_draws import integer, place, random_rotation, uniform, upright_rotation
from blender.rigging import posing
from blender.surfaces.appearance import sample_decals, sample_look


def draw(ctx) -> dict:
    spec = ctx.spec
    rng, mrng = ctx.rng("objects"), ctx.rng("materials")
    arng, drng = ctx.rng("appearance"), ctx.rng("decals")
    placement = spec.render.placement
    objects, placed = [], ctx.placed
    for rig_name, rig in spec.rigs.items():
        for slot in range(integer(rng, rig.instances)):
            scale = uniform(rng, rig.scale)
            loc = place(rng, placed, ctx.rig_radii[rig_name] * scale, placement.spread, placement.height)
            placed.append((loc, ctx.rig_radii[rig_name] * scale))
            if rig.pose.mode == "free":
                rot = random_rotation(rng)
            else:
                rot = upright_rotation(rng, math.radians(rig.pose.tilt_deg))
            looks = {name: sample_look(mrng, arng, entry) for name, entry in sorted(rig.materials.items())}
            mats = {name: look for name, look in looks.items() if look is not None}
            objects.append(
                {
                    "rig": rig_name,
                    "slot": slot,
                    "location": loc.tolist(),
                    "rotation": rot,
                    "scale": scale,
                    "materials": mats,
                }
            )
            if rig.decals:  # drawn only when set: default renders keep their bytes
                objects[-1]["decals"] = sample_decals(drng, rig.decals)
    if any(rig.articulated() for rig in spec.rigs.values()):  # else nothing drawn: bytes kept
        bones_rng, keys_rng = ctx.rng("pose_bones"), ctx.rng("shape_keys")
        for o in objects:
            if spec.rigs[o["rig"]].articulated():
                o["articulation"] = posing.sample_articulation(bones_rng, keys_rng, spec.rigs[o["rig"]])
    return {"objects": objects}
