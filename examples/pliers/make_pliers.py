"""Build the pliers rig of examples/pliers: a mesh skinned to a two-bone armature, in a .blend.

    python examples/pliers/make_pliers.py                       (the bpy package)
    blender --background --factory-startup --python examples/pliers/make_pliers.py -- [--out PATH]

Writes examples/pliers/build/pliers.blend (ignored by Git; any Blender 3.4-5.x writes a file
that it can read back itself). Metres, z up, hinge at the origin, jaws toward +x, handles toward
-x, lying flat (the hinge axis is z).

- Two halves, `half_a` above z = 0 and `half_b` below it; `half_b` is `half_a` turned 180 degrees
  about the x axis, so the closed pliers look the same after that turn (the params declare it).
  Each half is a jaw on one side of the x axis and a handle on the other: turning a half about
  the hinge opens its jaw and its handle together, as real pliers do.
- Armature `pliers_rig`: bones `jaw_a` and `jaw_b`, both from the hinge (head) to their jaw's tip
  (tail), roll 0, so each bone's z axis is the hinge axis. Each half's vertices are weighted 1.0
  to its bone (vertex groups `jaw_a`, `jaw_b`): rigid parts, as in a mechanical rig.
- Vertex group `handle_a_end` (the end face of half a's handle) and an empty `handle_b_end`
  parented to bone `jaw_b` at the end of half b's handle: keypoints that follow the pose.
- Material slots `metal` (jaws and hinge) and `grip` (handles).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import bpy
from mathutils import Matrix

HERE = Path(__file__).resolve().parent
JAW = 0.05  # hinge to jaw tip, metres
HANDLE = 0.11  # hinge to handle end
LAYER = 0.005  # thickness of each half
HINGE_R = 0.009


def prism(outline: list[tuple[float, float]], z0: float, z1: float) -> tuple[list, list]:
    """A closed prism over a counter-clockwise convex xy outline: (vertices, faces)."""
    n = len(outline)
    verts = [(x, y, z0) for x, y in outline] + [(x, y, z1) for x, y in outline]
    faces = [tuple(reversed(range(n))), tuple(range(n, 2 * n))]
    faces += [(i, (i + 1) % n, n + (i + 1) % n, n + i) for i in range(n)]
    return verts, faces


def half_a() -> list[tuple[list, list, int, str]]:
    """Parts of the upper half: (vertices, faces, material slot, part name)."""
    z0, z1 = 0.0, LAYER
    jaw = [(0.0, -0.001), (JAW, 0.0), (JAW, 0.002), (0.012, 0.009), (0.0, 0.008)]
    hinge = [(HINGE_R * math.cos(2 * math.pi * i / 16), HINGE_R * math.sin(2 * math.pi * i / 16)) for i in range(16)]
    handle = [(0.0, 0.0), (-0.02, -0.001), (-HANDLE, -0.010), (-HANDLE, -0.022), (-0.02, -0.012), (0.0, -0.009)]
    return [(*prism(jaw, z0, z1), 0, "jaw"), (*prism(hinge, z0, z1), 0, "hinge"), (*prism(handle, z0, z1), 1, "handle")]


def flip_x(parts):
    """Turned 180 degrees about the x axis: (x, y, z) -> (x, -y, -z); faces keep facing out."""
    return [([(x, -y, -z) for x, y, z in v], f, slot, name) for v, f, slot, name in parts]


def build() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    arm_data = bpy.data.armatures.new("pliers_rig")
    arm = bpy.data.objects.new("pliers_rig", arm_data)
    scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    for name, y in (("jaw_a", 0.001), ("jaw_b", -0.001)):
        bone = arm_data.edit_bones.new(name)
        bone.head, bone.tail, bone.roll = (0.0, 0.0, 0.0), (JAW, y, 0.0), 0.0
    bpy.ops.object.mode_set(mode="OBJECT")

    verts, faces, slots, groups = [], [], [], {"jaw_a": [], "jaw_b": [], "handle_a_end": []}
    for half, parts in (("a", half_a()), ("b", flip_x(half_a()))):
        for v, f, slot, part in parts:
            base = len(verts)
            verts += v
            faces += [tuple(base + i for i in face) for face in f]
            slots += [slot] * len(f)
            groups[f"jaw_{half}"] += list(range(base, base + len(v)))
            if half == "a" and part == "handle":
                groups["handle_a_end"] += [base + i for i, p in enumerate(v) if abs(p[0] + HANDLE) < 1e-9]
    mesh = bpy.data.meshes.new("pliers")
    mesh.from_pydata(verts, [], faces)
    for slot in ("metal", "grip"):
        mesh.materials.append(bpy.data.materials.new(slot))
    mesh.polygons.foreach_set("material_index", slots)
    mesh.update()
    obj = bpy.data.objects.new("pliers", mesh)
    scene.collection.objects.link(obj)
    for group, indices in groups.items():
        obj.vertex_groups.new(name=group).add(indices, 1.0, "REPLACE")
    obj.modifiers.new("armature", "ARMATURE").object = arm
    obj.parent = arm

    end = bpy.data.objects.new("handle_b_end", None)  # at the end face of half b's handle
    scene.collection.objects.link(end)
    end.empty_display_size = 0.005
    end.parent, end.parent_type, end.parent_bone = arm, "BONE", "jaw_b"
    bpy.context.view_layer.update()
    b_end = [p for p in flip_x(half_a())[2][0] if abs(p[0] + HANDLE) < 1e-9]
    target = [sum(c) / len(b_end) for c in zip(*b_end)]
    end.matrix_world = Matrix.Translation(target)  # keeps the bone parent, sets the world position


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=HERE / "build" / "pliers.blend")
    args = p.parse_args(argv)
    build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(args.out.resolve()), compress=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    code = main(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:])
    sys.stdout.flush()
    if bpy.app.background and "--" in sys.argv:
        import os

        os._exit(code)
    sys.exit(code)
