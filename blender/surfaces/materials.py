"""Randomizable Principled BSDF materials (bpy). Works with the node APIs of Blender 3.4 to 5.x."""

from __future__ import annotations

import bpy

from blender.surfaces.shader_nodes import math, mix_color, socket


def make_material(name: str, pattern: str = "noise", pictograms: bool = False) -> bpy.types.Material:
    """Principled BSDF whose base colour mixes `color` with a darker copy through a texture.

    `pattern` "noise" gives mottled variation; "brick" gives rows of small blocks that read as
    printed text on a label; `pictograms` adds hazard-label diamonds (see `_pictograms`).
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
        socket(tex.inputs, "Color1").default_value = (1, 1, 1, 1)
        socket(tex.inputs, "Color2").default_value = (0.6, 0.6, 0.6, 1)
        socket(tex.inputs, "Mortar").default_value = (0, 0, 0, 1)
        socket(tex.inputs, "Brick Width").default_value = 0.4
        socket(tex.inputs, "Row Height").default_value = 0.18
        fac = tex.outputs[1]  # Fac: 1 on mortar lines
    else:
        tex = nt.nodes.new("ShaderNodeTexNoise")
        tex.noise_dimensions = "4D"
        socket(tex.inputs, "Detail").default_value = 4.0
        fac = tex.outputs[0]
    tex.name = "texture"
    nt.links.new(coords.outputs["Object"], tex.inputs["Vector"])
    nt.links.new(fac, strength.inputs[0])
    nt.links.new(strength.outputs[0], socket(mix.inputs, "Factor_Float"))
    color = socket(mix.outputs, "Result_Color")
    if pictograms:
        color = _pictograms(nt, coords.outputs["Object"], color)
    nt.links.new(color, socket(bsdf.inputs, "Base Color"))
    return mat


def _pictograms(nt, coords, color):
    """Hazard-label diamonds: a row along the object's x axis on its +z face (tubes, bottles).

    White diamonds with a red edge and a dark mark, one every `pictogram_period` metres from
    `pictogram_offset`, in object coordinates: the look of GHS pictograms on a glue or paint tube,
    which break a plain-coloured label into patches a detector must learn to see through.
    """
    sep = nt.nodes.new("ShaderNodeSeparateXYZ")
    nt.links.new(coords, sep.inputs[0])
    period, offset = nt.nodes.new("ShaderNodeValue"), nt.nodes.new("ShaderNodeValue")
    period.name, offset.name = "pictogram_period", "pictogram_offset"
    period.outputs[0].default_value, offset.outputs[0].default_value = 0.015, 0.0
    half = math(nt, "MULTIPLY", period.outputs[0], 0.5)
    x = math(nt, "ADD", sep.outputs[0], offset.outputs[0])
    xm = math(nt, "WRAP", x, half, math(nt, "MULTIPLY", half, -1.0))  # -P/2 .. P/2 in each cell
    extent = math(nt, "ADD", math(nt, "ABSOLUTE", xm), math(nt, "ABSOLUTE", sep.outputs[1]))
    d = math(nt, "DIVIDE", extent, math(nt, "MULTIPLY", period.outputs[0], 0.42))
    front = math(nt, "GREATER_THAN", sep.outputs[2], 0.0)
    edge = math(nt, "MULTIPLY", math(nt, "LESS_THAN", d, 1.0), front)
    inner = math(nt, "MULTIPLY", math(nt, "LESS_THAN", d, 0.8), front)
    mark = math(nt, "MULTIPLY", math(nt, "LESS_THAN", d, 0.32), front)
    color = mix_color(nt, color, (0.55, 0.01, 0.01, 1.0), edge)
    color = mix_color(nt, color, (0.8, 0.8, 0.8, 1.0), inner)
    return mix_color(nt, color, (0.01, 0.01, 0.01, 1.0), mark)


def apply_material(mat: bpy.types.Material, values: dict) -> None:
    """Set one image's sampled values (linear RGB colour, roughness, metallic, texture)."""
    nt = mat.node_tree
    bsdf = next(n for n in nt.nodes if n.type == "BSDF_PRINCIPLED")
    mix, strength, tex = nt.nodes["color_mix"], nt.nodes["strength"], nt.nodes["texture"]
    r, g, b = values["color"]
    socket(mix.inputs, "A_Color").default_value = (r, g, b, 1.0)
    socket(mix.inputs, "B_Color").default_value = (r * 0.25, g * 0.25, b * 0.25, 1.0)
    strength.inputs[1].default_value = values["texture_strength"]
    socket(tex.inputs, "Scale").default_value = values["texture_scale"]
    if "W" in tex.inputs:
        tex.inputs["W"].default_value = values["texture_offset"]
    if "pictogram_period" in nt.nodes:  # drawn from the texture offset: default renders keep their draws
        frac = values["texture_offset"] % 1.0
        period = 0.013 + 0.005 * frac
        nt.nodes["pictogram_period"].outputs[0].default_value = period
        nt.nodes["pictogram_offset"].outputs[0].default_value = (values["texture_offset"] * 7.31 % 1.0) * period
    socket(bsdf.inputs, "Roughness").default_value = values["roughness"]
    socket(bsdf.inputs, "Metallic").default_value = values["metallic"]
