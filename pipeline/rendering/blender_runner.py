"""Run Blender for the render stage, preview, the Ray launcher, benchmarks and tests.

The driver side of `blender/render.py`: the resolved JSON spec it reads, the command that runs
it (the `bpy` package, or a stock Blender binary), shards of image indices, and the rig check
that builds the scene once without rendering so mesh-dependent errors come before any work.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common.atomic import file_sha256
from common.render_spec import RenderSpec, load_spec
from common.typed_json import to_dict
from pipeline.errors import Rig2kpError
from pipeline.rendering.appearance_spec import complete_spec
from pipeline.rendering.calibration import CalibrationError, check_lens, resolve_camera
from pipeline.schema import Params, ParamsError
from pipeline.schema.rigs_params import MaterialRanges

ROOT = Path(__file__).resolve().parents[2]
BLENDER_SCRIPT = ROOT / "blender" / "render.py"
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


class RenderError(Rig2kpError, RuntimeError):
    """A Blender process failed; the message carries its `error:` lines or the end of its output."""


def make_spec(params: Params, params_path: Path) -> dict:
    """The resolved, JSON-only render spec that blender/render.py reads (no pydantic in Blender).

    Paths are absolute for this machine; `files` maps each input file to its SHA-256, so the
    spec's hash (blender/output.py) names the content, not where the files lie.
    """
    base = params_path.resolve().parent
    rigs, files = {}, {}
    for name, rig in params.rigs.items():
        d = rig.spec()
        d["flip_pairs"] = [list(p) for p in rig.resolved_flip_pairs()]
        if rig.mesh.type == "file":
            path = (base / rig.mesh.path).resolve()
            d["mesh"]["path"] = str(path)
            files[str(path)] = file_sha256(path)
        if not d["materials"] and rig.mesh.type != "file":
            d["materials"] = {"*": MaterialRanges().model_dump(mode="json")}
        rigs[name] = d
    photos = []
    bg = params.render.background
    if bg.photos > 0:
        folder = (base / bg.photos_dir).resolve()
        photos = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)
        if not photos:
            raise ParamsError(f"{params_path}: render.background.photos_dir: no .jpg/.png images in {folder}")
        files.update({p: file_sha256(p) for p in photos})
    render = params.render.model_dump(mode="json")
    try:  # calibration files are read here, before any rendering
        render["camera"] = resolve_camera(
            render["camera"], base, "resolutions" in params.render.model_fields_set, params.render.resolutions
        )
        check_lens(render)
    except CalibrationError as exc:
        raise ParamsError(f"{params_path}: {exc}") from None
    spec = complete_spec(
        {
            "seed": params.seed,
            "rigs": rigs,
            "render": render,
            "photos": photos,
            "params_file": str(params_path),
            "files": files,
        },
        base,
    )
    for rig in spec["rigs"].values():  # decal images and clutter meshes are inputs too
        files.update({d["image"]: file_sha256(d["image"]) for d in rig.get("decals", [])})
    files.update({f: file_sha256(f) for f in spec["render"]["distractors"].get("meshes", {}).get("files", [])})
    typed_spec(spec)
    return spec


def typed_spec(spec: dict) -> RenderSpec:
    """The spec as Blender reads it (common/render_spec.py). It must read back to the same JSON, or
    spec.json, its hash and what Blender sees would differ: a mismatch is a bug here, not in params."""
    typed = load_spec(spec)
    if json.dumps(to_dict(typed)) != json.dumps(spec):
        raise RuntimeError("the render spec does not read back unchanged into common/render_spec.py's types")
    return typed


def blender_command(blender: str | None, args: list[str], script: Path = BLENDER_SCRIPT) -> list[str]:
    """The `bpy` package by default; a stock Blender binary when `blender` names one."""
    if blender:
        return [blender, "--background", "--factory-startup", "--python", str(script), "--", *args]
    return [sys.executable, str(script), *args]


def run_blender(blender: str | None, args: list[str], script: Path = BLENDER_SCRIPT) -> str:
    """Run a Blender-side script (blender/render.py by default) once; its temporary files live in
    a folder removed afterwards, even when the process crashes or is killed."""
    tmp = tempfile.mkdtemp(prefix="rig2kp_blender_")
    try:
        env = {**os.environ, "TMPDIR": tmp, "TEMP": tmp, "TMP": tmp}
        proc = subprocess.run(blender_command(blender, args, script), capture_output=True, text=True, env=env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if proc.returncode != 0:
        errors = [ln.removeprefix("error: ") for ln in proc.stderr.splitlines() if ln.startswith("error:")]
        if errors:  # Blender said what went wrong: that is the message
            raise RenderError("\n".join(dict.fromkeys(errors)))
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
        raise RenderError(f"Blender exited with {proc.returncode}:\n{tail}")
    return proc.stdout


def check_rigs(spec_path: Path, out: Path, blender: str | None) -> dict:
    """Build the scene once without rendering: mesh-dependent rig errors surface before any work."""
    stdout = run_blender(blender, ["--spec", str(spec_path), "--out", str(out), "--check"])
    line = next((ln for ln in stdout.splitlines() if ln.startswith("RIG2KP_CHECK ")), None)
    if line is None:
        raise RenderError(f"Blender printed no rig check:\n{stdout[-2000:]}")
    return json.loads(line.removeprefix("RIG2KP_CHECK "))


def render_shard(spec_path: Path, out: Path, shard: tuple[int, int], threads: int, blender: str | None) -> None:
    """Render images shard[0]..shard[1]-1: one Blender process, retried once (finished images are kept,
    so the retry resumes). What every launcher runs for a shard, locally or on a Ray worker."""
    args = [
        "--spec",
        str(spec_path),
        "--out",
        str(out),
        "--start",
        str(shard[0]),
        "--end",
        str(shard[1]),
        "--threads",
        str(threads),
    ]
    try:
        run_blender(blender, args)
    except RenderError:
        run_blender(blender, args)


def shards(num_images: int, shard_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + shard_size, num_images)) for s in range(0, num_images, shard_size)]
