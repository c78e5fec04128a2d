"""Golden renders: the default params and every example's params, shrunk to two thumbnails, rendered
through `python -m pipeline.cli render`, and each output file's SHA-256. tests/test_render_golden.py
compares a fresh render with tests/golden/render_digests.json, so a refactoring that changes one byte
of an image, a meta file or the annotations fails.

Regenerate (only when a change is meant to alter renders, and say so in its commit):
    python -m tests.support.golden --update
A new example: `--update --only NAME...` adds its cases and keeps the rest, noting the CPU it was
made on when that is not the file's (`machines`), so its pixels are compared on that CPU only.
Outputs are written by the command line, so this file runs on an older checkout too (to show a
restructuring left the bytes alone: run it there with --update, then the test here).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DIGESTS = ROOT / "tests" / "golden" / "render_digests.json"
# the shrink every case gets: two images, one small size, few samples, one shard, one worker
SHRINK = {"num_images": 2, "resolutions": [[64, 48]], "samples": 2, "denoise": False, "shard_size": 2, "workers": 1}
SKIP_FILES = {"spec.json"}  # holds absolute paths of the checkout; its content is checked through the images


def cases() -> dict[str, Path]:
    """name -> params file: the shipped params.yaml and every params*.yaml of examples/."""
    found = {"default": ROOT / "params.yaml"}
    for p in sorted((ROOT / "examples").glob("*/params*.yaml")):
        found[f"{p.parent.name}/{p.stem}"] = p
    return found


def prepare(params: Path, work: Path) -> Path | None:
    """The params shrunk, in a copy of their folder (an example's scripts build what it names under
    build/ first); None when they need files this checkout does not have (outside data)."""
    folder = work / "project"
    if params.parent != ROOT:
        folder = work / params.parent.name
        shutil.copytree(params.parent, folder, ignore=shutil.ignore_patterns("build", "__pycache__"))
        if "build/" in params.read_text():
            for script in sorted(folder.glob("make_*.py")):
                proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=folder)
                if proc.returncode != 0:
                    return None
    else:
        folder.mkdir(parents=True)
    data = yaml.safe_load(params.read_text())
    decals = [d["image"] for rig in (data.get("rigs") or {}).values() for d in rig.get("decals") or []]
    base = folder if params.parent != ROOT else ROOT  # where the render runs, and its paths resolve
    if any(not (base / image).is_file() for image in decals):
        return None  # a decal that a script cuts at run time from photos outside the project
    data["render"] = {**data.get("render", {}), **SHRINK}
    out = folder / params.name
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def content(path: Path) -> bytes:
    """A file's bytes; a JSON file's without its `spec_hash`, which fingerprints the inputs (a .blend
    that an example builds differs by build), not what was rendered."""
    if path.suffix != ".json":
        return path.read_bytes()
    data = json.loads(path.read_text())
    for holder in (data, data.get("info", {})):
        if isinstance(holder, dict):
            holder.pop("spec_hash", None)
    return json.dumps(data, sort_keys=True).encode()


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(content(p)).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in SKIP_FILES and not p.name.startswith(".")
    }


def render(name: str, params: Path, work: Path) -> dict[str, str] | None:
    """The output files' digests of one case, or None when its example's make_*.py cannot build what
    the params name (a decal cut from photos outside the project)."""
    pfile = prepare(params, work)
    if pfile is None:
        return None
    out = work / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "pipeline.cli", "render", "--params", str(pfile), "--out", str(out)]
    cwd = pfile.parent if params.parent != ROOT else ROOT
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{name}: render exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return digests(out)


def machine() -> str:
    """The CPU the images were made on: Cycles picks its kernels by CPU, so pixels are compared on
    the same kind of CPU only (geometry and annotations everywhere)."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if "model name" in ln), "")
    return f"{platform.machine()} {model}".strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--update", action="store_true", help=f"write {DIGESTS.relative_to(ROOT)}")
    p.add_argument("--only", nargs="*", help="case names (default: all)")
    args = p.parse_args(argv)
    result = {"machine": machine(), "shrink": SHRINK, "cases": {}}
    if args.only and DIGESTS.exists():
        # add or redo these cases and keep the others' digests, which may come from another CPU
        result = json.loads(DIGESTS.read_text())
    for name, params in cases().items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            got = render(name, params, Path(tmp))
        print(f"{name}: {'skipped (needs files this checkout lacks)' if got is None else f'{len(got)} files'}")
        if got is not None:
            result["cases"][name] = got
            machines = result.setdefault("machines", {})  # a case made on another CPU than the file's
            if machine() != result["machine"]:
                machines[name] = machine()
            else:
                machines.pop(name, None)
    if args.update:
        DIGESTS.parent.mkdir(exist_ok=True)
        DIGESTS.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(f"wrote {DIGESTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
