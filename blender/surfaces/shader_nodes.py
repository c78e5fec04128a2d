"""Shader-graph plumbing shared by kept materials, jitter, decals and wear (bpy, Blender 3.4 to 5.x).

A material's look is read and changed at its BSDFs: the Principled (and Diffuse) BSDF nodes that
reach the active Material Output. A change to an input goes between whatever feeds it (a link, or
the input's own value) and the input, so the original graph keeps working underneath.
"""

from __future__ import annotations

import bpy

COLOR_INPUTS = {"BSDF_PRINCIPLED": ("Base Color",), "BSDF_DIFFUSE": ("Color",)}
SPECULAR = ("Specular IOR Level", "Specular")  # Blender 4.0 renamed Principled's specular


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
