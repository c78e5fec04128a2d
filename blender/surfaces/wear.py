"""Procedural wear over a material (bpy): dust, smudges and scratches, amounts drawn per image.

Patterns live in object space (metres), moved by a per-image offset, so a worn instance does not
show the same smudge in every image. Each effect is a mask 0..1 from a texture thresholded by its
amount (0: none, 1: heavy) that pulls the base colour and roughness toward the effect's own:
dust light grey-beige and matte, smudges slightly darker and matte, scratches light and glossy.
"""

from __future__ import annotations

from blender.surfaces import materials as mt
from blender.surfaces.materials import socket

PREFIX = "rig2kp_wear"
EFFECTS = {  # colour pulled toward (linear RGB, or a darkening factor), roughness pulled toward
    "dust": ((0.55, 0.52, 0.48, 1.0), 0.95),
    "smudges": (0.8, 0.75),
    "scratches": ((0.75, 0.75, 0.75, 1.0), 0.25),
}


def _mask(nt, effect: str, coords):
    """0..1 coverage of one effect; thresholds move with the amount, so 0 gives nothing at all."""
    amount = mt.value_node(nt, f"{PREFIX}_{effect}")
    if effect == "scratches":  # cell edges of a Voronoi pattern stretched 6:1: long, thin, mostly parallel lines
        stretched = nt.nodes.new("ShaderNodeVectorMath")
        stretched.operation = "MULTIPLY"
        nt.links.new(coords, stretched.inputs[0])
        stretched.inputs[1].default_value = (0.25, 1.5, 1.5)  # cells of 4 x 0.7 smudge sizes
        tex = nt.nodes.new("ShaderNodeTexVoronoi")
        tex.feature = "DISTANCE_TO_EDGE"
        nt.links.new(stretched.outputs["Vector"], tex.inputs["Vector"])
        line = mt.math(nt, "LESS_THAN", tex.outputs["Distance"], 0.02)
        patches = nt.nodes.new("ShaderNodeTexNoise")  # only some of the edges: scratches, not a net
        nt.links.new(coords, patches.inputs["Vector"])
        socket(patches.inputs, "Scale").default_value = 0.7
        threshold = mt.math(nt, "SUBTRACT", 0.72, mt.math(nt, "MULTIPLY", amount, 0.25))
        keep = mt.math(nt, "GREATER_THAN", patches.outputs["Fac"], threshold)
        return mt.math(nt, "MULTIPLY", mt.math(nt, "MULTIPLY", line, keep), amount)
    tex = nt.nodes.new("ShaderNodeTexNoise")
    nt.links.new(coords, tex.inputs["Vector"])
    socket(tex.inputs, "Scale").default_value = 20.0 if effect == "dust" else 1.0
    socket(tex.inputs, "Detail").default_value = 4.0 if effect == "dust" else 2.0
    ramp = nt.nodes.new("ShaderNodeMapRange")
    ramp.clamp = True
    nt.links.new(tex.outputs["Fac"], ramp.inputs["Value"])
    low = mt.math(nt, "SUBTRACT", 0.68, mt.math(nt, "MULTIPLY", amount, 0.3))
    nt.links.new(low, ramp.inputs["From Min"])
    nt.links.new(mt.math(nt, "ADD", low, 0.06), ramp.inputs["From Max"])
    return mt.math(nt, "MULTIPLY", ramp.outputs["Result"], amount)


def add_wear(mat) -> None:
    """Insert the wear nodes after everything else on each BSDF's base colour and roughness."""
    nt = mat.node_tree
    tc = nt.nodes.new("ShaderNodeTexCoord")
    moved = nt.nodes.new("ShaderNodeVectorMath")
    moved.operation = "ADD"
    moved.name = f"{PREFIX}_offset"
    nt.links.new(tc.outputs["Object"], moved.inputs[0])
    scaled = nt.nodes.new("ShaderNodeVectorMath")
    scaled.operation = "DIVIDE"
    nt.links.new(moved.outputs["Vector"], scaled.inputs[0])
    size = nt.nodes.new("ShaderNodeCombineXYZ")
    size.name = f"{PREFIX}_size"
    nt.links.new(size.outputs[0], scaled.inputs[1])
    coords = scaled.outputs["Vector"]  # in smudge sizes
    masks = {effect: _mask(nt, effect, coords) for effect in EFFECTS}
    for bsdf in mt.bsdfs(mat):
        color = mt.color_input(bsdf)
        c = mt.source(nt, color)
        rough = mt.float_input(bsdf, "Roughness")
        r = mt.source(nt, rough) if rough is not None else None
        for effect, (target, target_rough) in EFFECTS.items():
            if isinstance(target, tuple):
                c = mt.mix_color(nt, c, target, masks[effect])
            else:
                c = mt.mix_color(
                    nt, c, mt.mix_color(nt, c, (target, target, target, 1.0), blend="MULTIPLY"), masks[effect]
                )
            if r is not None:
                r = mt.math(
                    nt, "ADD", r, mt.math(nt, "MULTIPLY", masks[effect], mt.math(nt, "SUBTRACT", target_rough, r))
                )
        mt.feed(nt, color, c)
        if rough is not None:
            mt.feed(nt, rough, r)


def apply_wear(mat, values: dict) -> None:
    """Set one image's wear (the `wear` of `appearance.sample_jitter`)."""
    nt = mat.node_tree
    for effect in EFFECTS:
        mt.set_value(nt, f"{PREFIX}_{effect}", values[effect])
    nt.nodes[f"{PREFIX}_offset"].inputs[1].default_value = tuple(values["offset"])
    size = nt.nodes[f"{PREFIX}_size"]
    for sock in size.inputs:
        sock.default_value = values["size"]
