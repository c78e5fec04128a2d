"""A mesh file's own look, kept or jittered (bpy): texture checks, vertex colours, per-image jitter.

`keep` renders the file's materials as Blender imported them (OBJ+MTL image textures, glTF PBR,
.blend nodes); vertex colours (PLY, OBJ, glTF) are multiplied into the base colour of any material
that does not read them already, so a vertex-coloured scan shows its colours. Every image texture
that a kept material renders must load: a missing or unreadable file is a RigError naming the params
key, never Blender's silent pink. `jitter` works on a copy of the kept material: a Hue/Saturation/
Value node on each BSDF's base colour and clamped offsets on roughness, metallic and specular, all
set per image from values drawn in `appearance.sample_jitter`.
"""

from __future__ import annotations

import os

import bpy

from blender.rigging.rigs import BLANK, RigError
from blender.surfaces import shader_nodes as sn

JITTER = "rig2kp_jitter"  # name prefix of the nodes jitter adds


def is_blank(mat) -> bool:
    """A slot with no material, or the plain grey one rig2kp gives a bare mesh or a procedural shape."""
    return mat is None or bool(mat.get(BLANK, False))


def color_attribute(mesh) -> str | None:
    """The name of the colour attribute that renders (the mesh's render colour), or None."""
    attrs = getattr(mesh, "color_attributes", None)
    if attrs is None or len(attrs) == 0:
        return None
    index = getattr(attrs, "render_color_index", 0)
    return attrs[index if 0 <= index < len(attrs) else 0].name


def carries_color(mat, mesh) -> bool:
    """Whether a slot has a look of its own to keep: a material from the file, or vertex colours."""
    return not is_blank(mat) or color_attribute(mesh) is not None


def check_textures(mat, key: str, mesh_file: str) -> None:
    """Every image a material renders loads, or RigError naming `key` and the file it looked for."""
    for node in sn.rendered_nodes(mat):
        if node.type not in ("TEX_IMAGE", "TEX_ENVIRONMENT"):
            continue
        image = node.image
        if image is None:
            raise RigError(
                f"{key}: material {mat.name!r} has an image texture node without an image "
                f"({mesh_file}); Blender would render it pink"
            )
        if image.packed_file is not None or image.source in ("GENERATED", "VIEWER"):
            continue
        path = bpy.path.abspath(image.filepath, library=image.library)
        if "<UDIM>" in path or "<UVTILE>" in path:
            continue  # tiled textures: Blender resolves the tiles itself
        if not os.path.isfile(path):
            folder = os.path.dirname(mesh_file)
            raise RigError(
                f"{key}: texture {path} of material {mat.name!r} not found; texture paths are "
                f"relative to the mesh file ({folder})"
            )
        if tuple(image.size) == (0, 0):
            raise RigError(f"{key}: cannot read texture {path} of material {mat.name!r} as an image")


def uses_color_attributes(mat) -> bool:
    return any(n.type in ("VERTEX_COLOR", "ATTRIBUTE") for n in sn.rendered_nodes(mat))


def wire_vertex_colors(mat, attribute: str) -> None:
    """Multiply the colour attribute into each BSDF's base colour (a blank material takes it as is),
    unless the material reads colour attributes already (glTF's importer wires COLOR_0 itself)."""
    nt = sn.ensure_nodes(mat)
    if uses_color_attributes(mat):
        return
    blank = is_blank(mat)
    for bsdf in sn.bsdfs(mat):
        attr = nt.nodes.new("ShaderNodeAttribute")
        attr.attribute_name = attribute
        attr.name = "rig2kp_vertex_colour"
        socket = sn.color_input(bsdf)
        if blank:
            sn.feed(nt, socket, attr.outputs["Color"])
        else:
            sn.feed(nt, socket, sn.mix_color(nt, sn.source(nt, socket), attr.outputs["Color"], blend="MULTIPLY"))


def add_jitter(mat) -> None:
    """Insert the jitter nodes into `mat` (a copy of the kept material): HSV on each BSDF's base colour,
    clamped offsets on its roughness, metallic and specular. Values are set by `apply_jitter`."""
    nt = mat.node_tree
    for i, bsdf in enumerate(sn.bsdfs(mat)):
        socket = sn.color_input(bsdf)
        hsv = nt.nodes.new("ShaderNodeHueSaturation")
        hsv.name = f"{JITTER}_hsv.{i}"
        nt.links.new(sn.source(nt, socket), hsv.inputs["Color"])
        sn.feed(nt, socket, hsv.outputs["Color"])
        for what, names in (("roughness", ("Roughness",)), ("metallic", ("Metallic",)), ("specular", sn.SPECULAR)):
            inp = sn.float_input(bsdf, *names)
            if inp is not None:
                sn.feed(nt, inp, sn.math(nt, "ADD", sn.source(nt, inp), 0.0, name=f"{JITTER}_{what}.{i}", clamp=True))


def apply_jitter(mat, values: dict) -> None:
    """Set one image's jitter (from `appearance.sample_jitter`) on a material made by `add_jitter`."""
    for node in mat.node_tree.nodes:
        if not node.name.startswith(JITTER):
            continue
        what = node.name[len(JITTER) + 1 :].split(".")[0]
        if what == "hsv":
            node.inputs["Hue"].default_value = (0.5 + values["hue_shift"]) % 1.0
            node.inputs["Saturation"].default_value = values["saturation_scale"]
            node.inputs["Value"].default_value = values["value_scale"]
            node.inputs["Fac"].default_value = 1.0
        else:
            node.inputs[1].default_value = values[f"{what}_offset"]
