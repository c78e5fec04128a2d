"""Decals (bpy): a user's image printed over a material's base colour, placed per image.

Each decal becomes, in each material it prints on: surface coordinates (the UV map, an object-space
plane seen from an axis, or angle and height around a cylinder), a Mapping node that moves, turns
and sizes the image there, an Image Texture that is transparent outside the image (CLIP), and a Mix
of the image colour over the base colour by the image's alpha (times "faces the axis" for planar).
Only the base colour changes: geometry, keypoints, visibility and masks cannot.
Frames and units are those of `appearance.planar_frame` / `cylinder_frame` and schema Decal.
"""

from __future__ import annotations

import math

import bpy

from blender.rigging.rigs import RigError
from blender.surfaces import materials as mt
from blender.surfaces.appearance import cylinder_frame, planar_frame
from blender.surfaces.materials import socket
from common.render_spec import Decal

PREFIX = "rig2kp_decal"


def load_image(path: str, key: str):
    """The decal's image in Blender (loaded once), or RigError naming `key`."""
    try:
        image = bpy.data.images.load(path, check_existing=True)
    except RuntimeError as exc:
        raise RigError(f"{key}: Blender cannot read {path} as an image ({exc})") from None
    if tuple(image.size) == (0, 0):
        raise RigError(f"{key}: Blender cannot read {path} as an image")
    image.alpha_mode = "STRAIGHT"
    return image


def _vector(nt, xyz):
    node = nt.nodes.new("ShaderNodeCombineXYZ")
    for sock, v in zip(node.inputs, xyz):
        if isinstance(v, (int, float)):
            sock.default_value = float(v)
        else:
            nt.links.new(v, sock)
    return node.outputs[0]


def _dot(nt, a, b_const):
    node = nt.nodes.new("ShaderNodeVectorMath")
    node.operation = "DOT_PRODUCT"
    nt.links.new(a, node.inputs[0])
    node.inputs[1].default_value = tuple(float(c) for c in b_const)
    return socket(node.outputs, "Value")


def _surface_coords(nt, decal: Decal, j: int):
    """(decal-plane coordinates as a vector (s, t, 0), facing factor or None) of a decal's projection."""
    coords = nt.nodes.new("ShaderNodeTexCoord")
    if decal.projection == "uv":
        return coords.outputs["UV"], None
    rel = nt.nodes.new("ShaderNodeVectorMath")
    rel.operation = "SUBTRACT"
    nt.links.new(coords.outputs["Object"], rel.inputs[0])
    rel.inputs[1].default_value = tuple(float(c) for c in decal.origin)
    p = rel.outputs["Vector"]
    if decal.projection == "planar":
        right, up, n = planar_frame(decal.axis)
        facing = mt.math(nt, "GREATER_THAN", _dot(nt, coords.outputs["Normal"], n), 0.0)
        return _vector(nt, (_dot(nt, p, right), _dot(nt, p, up), 0.0)), facing
    a, b, n = cylinder_frame(decal.axis)
    angle = mt.math(nt, "ARCTAN2", _dot(nt, p, b), _dot(nt, p, a))  # atan2(y, x): 0 at a, pi/2 at b
    centre = mt.value_node(nt, f"{PREFIX}{j}_angle")
    around = mt.math(nt, "WRAP", mt.math(nt, "SUBTRACT", angle, centre), math.pi, -math.pi)
    s = mt.math(nt, "MULTIPLY", around, float(decal.radius))
    return _vector(nt, (s, _dot(nt, p, n), 0.0)), None


def add_decal(mat, decal: Decal, j: int, image) -> None:
    """Print decal number `j` (with its `image` loaded) over every BSDF's base colour of `mat`."""
    nt = mat.node_tree
    uvw, facing = _surface_coords(nt, decal, j)
    mapping = nt.nodes.new("ShaderNodeMapping")
    mapping.vector_type = "TEXTURE"  # inverse: S^-1 R^-1 (p - location), the image's own frame
    mapping.name = f"{PREFIX}{j}_mapping"
    nt.links.new(uvw, mapping.inputs["Vector"])
    centred = nt.nodes.new("ShaderNodeVectorMath")
    centred.operation = "ADD"
    nt.links.new(mapping.outputs["Vector"], centred.inputs[0])
    centred.inputs[1].default_value = (0.5, 0.5, 0.0)
    tex = nt.nodes.new("ShaderNodeTexImage")
    tex.image = image
    tex.extension = "CLIP"
    tex.interpolation = "Linear"
    nt.links.new(centred.outputs["Vector"], tex.inputs["Vector"])
    factor = mt.math(nt, "MULTIPLY", tex.outputs["Alpha"], mt.value_node(nt, f"{PREFIX}{j}_shown"))
    if facing is not None:
        factor = mt.math(nt, "MULTIPLY", factor, facing)
    for bsdf in mt.bsdfs(mat):
        socket = mt.color_input(bsdf)
        mt.feed(nt, socket, mt.mix_color(nt, mt.source(nt, socket), tex.outputs["Color"], factor))


def apply_decal(mat, decal: Decal, j: int, place: dict) -> None:
    """Set one image's placement (from `appearance.sample_decals`) of decal `j` in `mat`."""
    nt = mat.node_tree
    mt.set_value(nt, f"{PREFIX}{j}_shown", 1.0 if place["shown"] else 0.0)
    mapping = nt.nodes[f"{PREFIX}{j}_mapping"]
    u = place["u"]
    if decal.projection == "cylinder":
        mt.set_value(nt, f"{PREFIX}{j}_angle", math.radians(u))
        u = 0.0  # the angle is centred before it becomes arc length
    mapping.inputs["Location"].default_value = (u, place["v"], 0.0)
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, place["rotation"])
    mapping.inputs["Scale"].default_value = (place["width"], place["height"], 1.0)
