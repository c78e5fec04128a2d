"""Dump a mesh file's vertices as a rig sees them, for `rig2kp mesh-info`. Runs inside Blender.

    python blender/rigging/mesh_dump.py --mesh PATH --out VERTICES.npy [--object NAME] [--unit-scale S] [--up-axis A]
    blender --background --python blender/rigging/mesh_dump.py -- --mesh PATH --out VERTICES.npy ...

The file is imported, its object picked and its evaluated mesh baked by the code a `type: file`
rig uses (blender/rigging/rigs.py), so the vertex indices are those that `vertex:` keypoints index.
VERTICES.npy holds them N x 3 in the rig frame (metres, turned); one stdout line
`RIG2KP_MESH {json}` says what else the file holds. Problems print one `error:` line.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from blender.rigging import mesh_turn, rigs  # noqa: E402
from common.atomic import write_bytes  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="blender/rigging/mesh_dump.py", description=__doc__)
    p.add_argument("--mesh", required=True, type=Path, help="the mesh file")
    p.add_argument("--out", required=True, type=Path, help="where the N x 3 vertices go (.npy)")
    p.add_argument("--object", help="mesh object to use (as mesh.object)")
    p.add_argument("--unit-scale", type=float, default=1.0, help="metres per file unit (as mesh.unit_scale)")
    p.add_argument("--up-axis", default=mesh_turn.DEFAULT_UP, choices=mesh_turn.UP_AXES, help="as mesh.up_axis")
    return p.parse_args(argv)


def dump(args: argparse.Namespace) -> dict:
    """Import, pick and bake as a rig does; write the vertices; what the file holds, as JSON."""
    key = f"{args.mesh}: mesh"
    imported = rigs._import_file(args.mesh, key)
    meshes = sorted((o for o in imported if o.type == "MESH"), key=lambda o: o.name)
    objects = [{"name": o.name, "vertices": len(o.data.vertices), "faces": len(o.data.polygons)} for o in meshes]
    try:
        src = rigs._pick_object(imported, args.object, key)
    except rigs.RigError as exc:
        raise rigs.RigError(f"{exc} (mesh-info takes it as --object NAME)") from None
    turn = mesh_turn.turn_matrix(args.up_axis)
    baked = rigs._bake(src, "rig2kp_mesh_info", args.unit_scale, turn)
    scale = np.diag([args.unit_scale] * 3 + [1.0])  # float64, so file units come back exact
    rig_from_mesh = scale @ np.array(src.matrix_world, dtype=float)
    if turn is not None:
        rig_from_mesh = turn @ rig_from_mesh
    buffer = io.BytesIO()
    np.save(buffer, rigs._vertices(baked.data))
    write_bytes(args.out, buffer.getvalue())
    return {
        "blender": bpy.app.version_string,
        "objects": objects,
        "object": src.name,
        "empties": sorted(o.name for o in imported if o.type == "EMPTY"),
        "faces": len(baked.data.polygons),
        "slots": rigs.slot_names(baked, "file"),
        "mesh_from_rig": np.linalg.inv(rig_from_mesh).tolist(),
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    try:
        facts = dump(args)
    except rigs.RigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("RIG2KP_MESH " + json.dumps(facts))
    return 0


if __name__ == "__main__":
    try:
        status = main(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:])
    except Exception:  # a stock Blender prints a script's traceback and exits 0: say 1
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status) if bpy.app.background and "--" in sys.argv else sys.exit(status)  # Blender parses no flag of ours
