"""What a mesh file holds, for writing its rig without the Blender GUI: `rig2kp mesh-info PATH`.

    python -m pipeline.authoring.mesh_info PATH [--unit-scale S] [--up-axis A] [--object NAME]
                                      [--near X Y Z [--count N]] [--json] [--blender BIN]

The file is read by the code a `type: file` rig uses (blender/rigging/mesh_dump.py runs blender/rigging/rigs.py's
import, pick and bake), so the vertex indices printed are those `vertex:` keypoints index. It
prints the mesh objects, vertex and face counts, bounds, material slot names, the extreme vertex
along each axis, a guess at the up axis, the vertices nearest a point, and a rig to paste.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from blender.rigging.mesh_turn import UP_AXES
from pipeline.authoring import mesh_facts
from pipeline.errors import Rig2kpError, run_command
from pipeline.rendering.blender_runner import ROOT, RenderError, run_blender
from pipeline.schema.common import MESH_SUFFIXES

SCRIPT = ROOT / "blender" / "rigging" / "mesh_dump.py"


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def read_mesh(path: Path, unit_scale: float, up_axis: str | None, obj: str | None, blender: str | None) -> dict:
    """Blender's facts about the file, with `rig` (N x 3, metres, turned) and `file` vertices."""
    if not path.is_file():
        raise Rig2kpError(f"{path}: file not found; expected a mesh file ({' '.join(MESH_SUFFIXES)})")
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise Rig2kpError(f"{path}: a {path.suffix or 'suffix-less'} file; expected one of {' '.join(MESH_SUFFIXES)}")
    with tempfile.TemporaryDirectory(prefix="rig2kp_mesh_info_") as tmp:
        out = Path(tmp) / "vertices.npy"
        args = ["--mesh", str(path), "--out", str(out), "--unit-scale", repr(unit_scale)]
        args += ["--up-axis", up_axis or "+z"] + (["--object", obj] if obj is not None else [])
        stdout = run_blender(blender, args, SCRIPT)
        line = next((ln for ln in stdout.splitlines() if ln.startswith("RIG2KP_MESH ")), None)
        if line is None:
            raise RenderError(f"{path}: Blender printed no mesh facts:\n{stdout[-2000:]}")
        facts = json.loads(line.removeprefix("RIG2KP_MESH "))
        facts["rig"] = np.load(out)
    facts["file"] = mesh_facts.to_file(facts["rig"], facts["mesh_from_rig"])
    return facts


def describe(path: str, facts: dict, unit_scale: float, up_axis: str | None, near, count: int) -> dict:
    """Everything mesh-info reports, as plain JSON-able values."""
    v = facts["file"]
    found = mesh_facts.extremes(v)
    guess = mesh_facts.guess_up_axis(v, Path(path).suffix)
    chosen = up_axis or guess.axis
    several = len(facts["objects"]) > 1
    out = {
        "file": path,
        "blender": facts["blender"],
        "objects": facts["objects"],
        "object": facts["object"],
        "vertices": len(v),
        "faces": facts["faces"],
        "bounds_file": [v.min(axis=0).tolist(), v.max(axis=0).tolist()],
        "bounds_metres": [(v.min(axis=0) * unit_scale).tolist(), (v.max(axis=0) * unit_scale).tolist()],
        "bounds_rig": [facts["rig"].min(axis=0).tolist(), facts["rig"].max(axis=0).tolist()],
        "rig_up_axis": up_axis or "+z",
        "slots": facts["slots"],
        "empties": facts["empties"],
        "extremes": {k: {"vertex": i, "position": v[i].tolist()} for k, i in found.items()},
        "up_axis_guess": {"axis": guess.axis, "reason": guess.reason},
        "snippet": mesh_facts.snippet(path, unit_scale, chosen, v, found, facts["object"] if several else None),
    }
    if near is not None:
        out["near"] = {
            "point": list(near),
            "vertices": [
                {"vertex": i, "position": v[i].tolist(), "distance": d} for i, d in mesh_facts.nearest(v, near, count)
            ],
        }
    return out


def bounds_line(bounds: list) -> str:
    lo, hi = bounds
    return "  ".join(f"{a} [{mesh_facts.number(lo[k])}, {mesh_facts.number(hi[k])}]" for k, a in enumerate("xyz"))


def text(info: dict, unit_scale: float) -> str:
    """The report a person reads."""
    p = mesh_facts.point
    objects = ", ".join(f"{o['name']} ({o['vertices']} vertices, {o['faces']} faces)" for o in info["objects"])
    lines = [
        f"{info['file']} (read by Blender {info['blender']}, as a `type: file` rig reads it)",
        f"mesh objects: {objects}",
        f"used: {info['object']}: {info['vertices']} vertices, {info['faces']} faces "
        "(evaluated: modifiers applied; these are the indices `vertex:` names)",
        f"bounds, file units:            {bounds_line(info['bounds_file'])}",
        f"bounds, metres (x {mesh_facts.number(unit_scale)}):     {bounds_line(info['bounds_metres'])}",
        f"rig frame, metres (up {info['rig_up_axis']}):   {bounds_line(info['bounds_rig'])}",
    ]
    slots = info["slots"]
    lines.append(
        "material slots (keys of `materials:`): " + ", ".join(json.dumps(s) for s in slots)
        if slots
        else 'material slots: none (the rig gets one blank slot: `materials: {"*": ...}` applies to it)'
    )
    if info["empties"]:
        lines.append("empties (for `empty:` keypoints): " + ", ".join(info["empties"]))
    lines.append("extreme vertices (index: file coordinates), natural keypoint candidates:")
    lines += [f"  {k}  {e['vertex']:>6}: {p(e['position'])}" for k, e in info["extremes"].items()]
    guess = info["up_axis_guess"]
    lines.append(f"up axis, a guess: {guess['axis']}: {guess['reason']}.")
    lines.append("  Check it with `rig2kp preview` (the rig from 8 sides, as the rig frame stands).")
    if "near" in info:
        lines.append(f"vertices nearest {p(info['near']['point'])} (file coordinates):")
        lines += [
            f"  {n['vertex']:>6}: {p(n['position'])}  distance {mesh_facts.number(n['distance'])}"
            for n in info["near"]["vertices"]
        ]
    lines += ["", "a rig to paste into params.yaml:", "", info["snippet"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="rig2kp mesh-info", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("path", type=Path, help="the mesh file: " + " ".join(MESH_SUFFIXES))
    p.add_argument("--object", help="mesh object to use, as mesh.object (files with several)")
    p.add_argument("--unit-scale", type=positive, default=1.0, help="metres per file unit, as mesh.unit_scale")
    p.add_argument("--up-axis", choices=UP_AXES, help="as mesh.up_axis (default: the guess in the snippet, +z baked)")
    p.add_argument("--near", type=float, nargs=3, metavar=("X", "Y", "Z"), help="list the vertices nearest this point")
    p.add_argument("--count", type=int, default=5, help="how many vertices --near lists (default 5)")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.add_argument("--blender", help="a stock Blender binary instead of the bpy package")
    args = p.parse_args(argv)
    if args.count < 1:
        p.error(f"--count: expected a number >= 1, got {args.count}")

    def run() -> None:
        facts = read_mesh(args.path, args.unit_scale, args.up_axis, args.object, args.blender)
        info = describe(str(args.path), facts, args.unit_scale, args.up_axis, args.near, args.count)
        print(json.dumps(info, indent=1) if args.json else text(info, args.unit_scale))

    return run_command(run)


if __name__ == "__main__":
    raise SystemExit(main())
