"""The fixed pieces of the scene, made once per process (bpy): the world's HDRI node tree, the
primitive distractor meshes and the shadow-catching floor; and the lowest point of an object, which
the floor goes under."""

from __future__ import annotations

import math
from pathlib import Path

import bpy
import numpy as np

from blender.world.distractor_draw import DISTRACTOR_SHAPES

PARKED = (0.0, 0.0, -1000.0)


def world_nodes(scene, hdri_dir: Path) -> dict:
    """The world as an HDRI environment: its node tree, and the nodes that `Scene.apply` sets per image."""
    world = scene.world or bpy.data.worlds.new("World")
    scene.world = world
    world.use_nodes = True
    if hasattr(world, "cycles"):
        # The importance map is rebuilt whenever the world changes (every image): at the automatic
        # 1024 px that costs ~2.5 s a frame on a CPU; 256 px costs ~0.1 s and samples as well here.
        world.cycles.sampling_method = "MANUAL"
        world.cycles.sample_map_resolution = 256
    nt = world.node_tree
    nt.nodes.clear()
    coords = nt.nodes.new("ShaderNodeTexCoord")
    mapping = nt.nodes.new("ShaderNodeMapping")
    env = nt.nodes.new("ShaderNodeTexEnvironment")
    bg = nt.nodes.new("ShaderNodeBackground")
    out = nt.nodes.new("ShaderNodeOutputWorld")
    nt.links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
    nt.links.new(mapping.outputs["Vector"], env.inputs["Vector"])
    nt.links.new(env.outputs["Color"], bg.inputs["Color"])
    nt.links.new(bg.outputs["Background"], out.inputs["Surface"])
    return {"mapping": mapping, "env": env, "bg": bg, "dir": hdri_dir, "images": {}}


def distractor_meshes() -> dict[str, bpy.types.Mesh]:
    """Unit-size primitive meshes, made with bmesh (no operators, no context needed)."""
    import bmesh

    meshes = {}
    for shape in DISTRACTOR_SHAPES:
        bm = bmesh.new()
        if shape == "cube":
            bmesh.ops.create_cube(bm, size=1.0)
        elif shape == "sphere":
            bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=12, radius=0.5)
        elif shape == "cylinder":
            bmesh.ops.create_cone(bm, cap_ends=True, segments=24, radius1=0.5, radius2=0.5, depth=1.0)
        elif shape == "cone":
            bmesh.ops.create_cone(bm, cap_ends=True, segments=24, radius1=0.5, radius2=0.0, depth=1.0)
        else:  # torus: a ring of spheres is enough of a distractor and needs no add-on
            for k in range(8):
                a = 2 * math.pi * k / 8
                geom = bmesh.ops.create_uvsphere(bm, u_segments=12, v_segments=8, radius=0.16)
                bmesh.ops.translate(bm, verts=geom["verts"], vec=(0.34 * math.cos(a), 0.34 * math.sin(a), 0.0))
        mesh = bpy.data.meshes.new(f"distractor.{shape}")
        bm.to_mesh(mesh)
        bm.free()
        meshes[shape] = mesh
    return meshes


def shadow_floor(scene) -> bpy.types.Object:
    """A large plane that Cycles renders only as the shadows falling on it (alpha over black), so
    compositing over any background puts the objects' shadows there. Pass index 0: no mask."""
    half = 50.0
    mesh = bpy.data.meshes.new("floor")
    mesh.from_pydata([(-half, -half, 0), (half, -half, 0), (half, half, 0), (-half, half, 0)], [], [(0, 1, 2, 3)])
    obj = bpy.data.objects.new("floor", mesh)
    obj.is_shadow_catcher = True
    obj.pass_index = 0
    obj.location = PARKED
    scene.collection.objects.link(obj)
    return obj


def lowest_z(obj, depsgraph) -> float:
    """World z of an object's lowest evaluated vertex."""
    mesh = obj.evaluated_get(depsgraph).data
    co = np.empty(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", co)
    m = np.array(obj.matrix_world)
    return float((co.reshape(-1, 3) @ m[2, :3] + m[2, 3]).min())
