"""The material graphs a rig slot (or a distractor) can show, in Blender (bpy, Blender 3.4 to 5.x).

Three looks, one module: `replace` builds a procedural Principled BSDF (`make_material`, values set
per image by `apply_material`); `keep` renders a mesh file's own materials as Blender imported them
(OBJ+MTL image textures, glTF PBR, .blend nodes), with vertex colours multiplied into any material
that does not read them already, and every image texture checked to load (a RigError naming the
params key, never Blender's silent pink); `jitter` inserts a Hue/Saturation/Value node and clamped
offsets on a copy of the kept material (`add_jitter`, values from `appearance.sample_jitter` set by
`apply_jitter`).

A material's look is read and changed at its BSDFs: the Principled (and Diffuse) BSDF nodes that
reach the active Material Output. A change to an input goes between whatever feeds it (a link, or
the input's own value) and the input, so the original graph keeps working underneath. Decals and
wear build on the same plumbing (`socket`, `feed`, `mix_color`, `math`).
"""

from __future__ import annotations

import os

import bpy

from blender.rigging.rigs import BLANK, RigError

COLOR_INPUTS = {"BSDF_PRINCIPLED": ("Base Color",), "BSDF_DIFFUSE": ("Color",)}
SPECULAR = ("Specular IOR Level", "Specular")  # Blender 4.0 renamed Principled's specular
JITTER = "rig2kp_jitter"  # name prefix of the nodes jitter adds


# --- the procedural look of `replace` ---


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


# --- a mesh file's own look: `keep` and `jitter` ---


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
    for node in rendered_nodes(mat):
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
    return any(n.type in ("VERTEX_COLOR", "ATTRIBUTE") for n in rendered_nodes(mat))


def wire_vertex_colors(mat, attribute: str) -> None:
    """Multiply the colour attribute into each BSDF's base colour (a blank material takes it as is),
    unless the material reads colour attributes already (glTF's importer wires COLOR_0 itself)."""
    nt = ensure_nodes(mat)
    if uses_color_attributes(mat):
        return
    blank = is_blank(mat)
    for bsdf in bsdfs(mat):
        attr = nt.nodes.new("ShaderNodeAttribute")
        attr.attribute_name = attribute
        attr.name = "rig2kp_vertex_color"
        base = color_input(bsdf)
        if blank:
            feed(nt, base, attr.outputs["Color"])
        else:
            feed(nt, base, mix_color(nt, source(nt, base), attr.outputs["Color"], blend="MULTIPLY"))


def add_jitter(mat) -> None:
    """Insert the jitter nodes into `mat` (a copy of the kept material): HSV on each BSDF's base colour,
    clamped offsets on its roughness, metallic and specular. Values are set by `apply_jitter`."""
    nt = mat.node_tree
    for i, bsdf in enumerate(bsdfs(mat)):
        base = color_input(bsdf)
        hsv = nt.nodes.new("ShaderNodeHueSaturation")
        hsv.name = f"{JITTER}_hsv.{i}"
        nt.links.new(source(nt, base), hsv.inputs["Color"])
        feed(nt, base, hsv.outputs["Color"])
        for what, names in (("roughness", ("Roughness",)), ("metallic", ("Metallic",)), ("specular", SPECULAR)):
            inp = float_input(bsdf, *names)
            if inp is not None:
                feed(nt, inp, math(nt, "ADD", source(nt, inp), 0.0, name=f"{JITTER}_{what}.{i}", clamp=True))


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


# --- shader-graph plumbing, shared with decals and wear ---


def socket(sockets, *names):
    """A socket by identifier or name; several names cover renames across Blender versions."""
    for name in names:
        for s in sockets:
            if s.identifier == name:
                return s
        for s in sockets:
            if s.name == name:
                return s
    raise KeyError(f"no socket {names} among {[s.identifier for s in sockets]}")


def ensure_nodes(mat: bpy.types.Material) -> bpy.types.ShaderNodeTree:
    """The material's node tree; a legacy material without nodes (Blender < 5) gets a Principled BSDF
    holding its viewport colour, roughness and metallic, which is what it renders as."""
    if mat.node_tree is None or not getattr(mat, "use_nodes", True):
        color, rough, metal = tuple(mat.diffuse_color), mat.roughness, mat.metallic
        mat.use_nodes = True
        for bsdf in (n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED"):
            socket(bsdf.inputs, "Base Color").default_value = color
            socket(bsdf.inputs, "Roughness").default_value = rough
            socket(bsdf.inputs, "Metallic").default_value = metal
    return mat.node_tree


def output_node(nt):
    """The Material Output that renders (the active one, else any)."""
    outputs = [n for n in nt.nodes if n.type == "OUTPUT_MATERIAL"]
    active = [n for n in outputs if n.is_active_output]
    return (active or outputs or [None])[0]


def upstream(nt, node) -> list:
    """Every node that feeds `node` (itself included), following links; groups are entered."""
    seen, todo, out = set(), [node], []
    while todo:
        n = todo.pop()
        if n is None or n.as_pointer() in seen:
            continue
        seen.add(n.as_pointer())
        out.append(n)
        todo += [link.from_node for s in n.inputs for link in s.links if not link.is_muted]
        if n.type == "GROUP" and n.node_tree is not None:
            inner = [m for m in n.node_tree.nodes if m.type == "GROUP_OUTPUT"]
            for m in inner:
                out += [x for x in upstream(n.node_tree, m) if x.as_pointer() not in seen]
    return out


def rendered_nodes(mat: bpy.types.Material) -> list:
    """The nodes that contribute to what the material renders."""
    nt = mat.node_tree
    if nt is None:
        return []
    return upstream(nt, output_node(nt))


def bsdfs(mat: bpy.types.Material) -> list:
    """Principled and Diffuse BSDF nodes of the material's own tree that reach its output."""
    own = {n.as_pointer() for n in mat.node_tree.nodes}
    return [n for n in rendered_nodes(mat) if n.type in COLOR_INPUTS and n.as_pointer() in own]


def color_input(bsdf):
    return socket(bsdf.inputs, *COLOR_INPUTS[bsdf.type])


def float_input(bsdf, *names):
    """An input by any of its names across versions, or None when this BSDF has none."""
    try:
        return socket(bsdf.inputs, *names)
    except KeyError:
        return None


def source(nt, socket):
    """The output socket feeding `socket`: its link's, or a new RGB / Value node holding its value."""
    if socket.is_linked:
        return socket.links[0].from_socket
    if socket.type == "RGBA":
        node = nt.nodes.new("ShaderNodeRGB")
        node.outputs[0].default_value = tuple(socket.default_value)
    else:
        node = nt.nodes.new("ShaderNodeValue")
        node.outputs[0].default_value = socket.default_value
    return node.outputs[0]


def feed(nt, socket, output) -> None:
    """Make `output` the only thing feeding `socket`."""
    for link in list(socket.links):
        nt.links.remove(link)
    nt.links.new(output, socket)


def mix_color(nt, a, b, factor=None, blend: str = "MIX", name: str = ""):
    """Mix node (RGBA): `a` blended with `b` by `factor` (a socket, or a number); returns the result socket."""
    mix = nt.nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.blend_type = blend
    if name:
        mix.name = name
    fac = socket(mix.inputs, "Factor_Float")
    if factor is None or isinstance(factor, (int, float)):
        fac.default_value = 1.0 if factor is None else factor
    else:
        nt.links.new(factor, fac)
    for sock, value in ((socket(mix.inputs, "A_Color"), a), (socket(mix.inputs, "B_Color"), b)):
        if isinstance(value, tuple):
            sock.default_value = value
        else:
            nt.links.new(value, sock)
    return socket(mix.outputs, "Result_Color")


def math(nt, op: str, *args, name: str = "", clamp: bool = False):
    """A Math node; each argument is a number or an output socket; returns its output."""
    node = nt.nodes.new("ShaderNodeMath")
    node.operation = op
    node.use_clamp = clamp
    if name:
        node.name = name
    for sock, a in zip(node.inputs, args):
        if isinstance(a, (int, float)):
            sock.default_value = a
        else:
            nt.links.new(a, sock)
    return node.outputs[0]


def value_node(nt, name: str, value: float = 0.0):
    node = nt.nodes.new("ShaderNodeValue")
    node.name = name
    node.outputs[0].default_value = value
    return node.outputs[0]


def set_value(nt, name: str, value: float) -> None:
    nt.nodes[name].outputs[0].default_value = value
