"""Randomizable Principled BSDF materials (bpy). Works with the node APIs of Blender 3.4 to 5.x."""

from __future__ import annotations

import bpy


def _socket(sockets, *names):
    """A socket by identifier or name; several names cover renames across Blender versions."""
    for name in names:
        for s in sockets:
            if s.identifier == name:
                return s
        for s in sockets:
            if s.name == name:
                return s
    raise KeyError(f"no socket {names} among {[s.identifier for s in sockets]}")


def make_material(name: str, pattern: str = "noise") -> bpy.types.Material:
    """Principled BSDF whose base colour mixes `color` with a darker copy through a texture.

    `pattern` "noise" gives mottled variation; "brick" gives rows of small blocks that read as
    printed text on a label.
    """
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nt = mat.node_tree
    bsdf = next(n for n in nt.nodes if n.type == "BSDF_PRINCIPLED")
    coords = nt.nodes.new("ShaderNodeTexCoord")
    mix = nt.nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.name = "color_mix"
    strength = nt.nodes.new("ShaderNodeMath")
    strength.operation = "MULTIPLY"
    strength.name = "strength"
    if pattern == "brick":
        tex = nt.nodes.new("ShaderNodeTexBrick")
        _socket(tex.inputs, "Color1").default_value = (1, 1, 1, 1)
        _socket(tex.inputs, "Color2").default_value = (0.6, 0.6, 0.6, 1)
        _socket(tex.inputs, "Mortar").default_value = (0, 0, 0, 1)
        _socket(tex.inputs, "Brick Width").default_value = 0.4
        _socket(tex.inputs, "Row Height").default_value = 0.18
        fac = tex.outputs[1]  # Fac: 1 on mortar lines
    else:
        tex = nt.nodes.new("ShaderNodeTexNoise")
        tex.noise_dimensions = "4D"
        _socket(tex.inputs, "Detail").default_value = 4.0
        fac = tex.outputs[0]
    tex.name = "texture"
    nt.links.new(coords.outputs["Object"], tex.inputs["Vector"])
    nt.links.new(fac, strength.inputs[0])
    nt.links.new(strength.outputs[0], _socket(mix.inputs, "Factor_Float"))
    nt.links.new(_socket(mix.outputs, "Result_Color"), _socket(bsdf.inputs, "Base Color"))
    return mat


def apply_material(mat: bpy.types.Material, values: dict) -> None:
    """Set one image's sampled values (linear RGB colour, roughness, metallic, texture)."""
    nt = mat.node_tree
    bsdf = next(n for n in nt.nodes if n.type == "BSDF_PRINCIPLED")
    mix, strength, tex = nt.nodes["color_mix"], nt.nodes["strength"], nt.nodes["texture"]
    r, g, b = values["color"]
    _socket(mix.inputs, "A_Color").default_value = (r, g, b, 1.0)
    _socket(mix.inputs, "B_Color").default_value = (r * 0.25, g * 0.25, b * 0.25, 1.0)
    strength.inputs[1].default_value = values["texture_strength"]
    _socket(tex.inputs, "Scale").default_value = values["texture_scale"]
    if "W" in tex.inputs:
        tex.inputs["W"].default_value = values["texture_offset"]
    _socket(bsdf.inputs, "Roughness").default_value = values["roughness"]
    _socket(bsdf.inputs, "Metallic").default_value = values["metallic"]
