"""Render stage: validate params, then render shards in parallel Blender processes and merge.

    python -m pipeline.render [--params params.yaml] [--out data/synthetic]

Each shard (an index range of `render.shard_size` images) is one Blender process, so memory is
capped by restarting Blender; finished images are skipped, so an interrupted render resumes.
Beyond one machine: `--shard N|env` and `--merge-only` for a scheduler's array of jobs (SLURM,
Kubernetes), `--launcher ray` for a Ray cluster (pipeline/launch_ray.py); README "Scale out".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from tqdm import tqdm

from blender import coco
from pipeline.appearance_spec import complete_spec
from pipeline.schema import Params, ParamsError, load_params
from pipeline.schema.rigs import MaterialRanges
from pipeline.stats import dataset_stats

ROOT = Path(__file__).resolve().parents[1]
BLENDER_SCRIPT = ROOT / "blender" / "render.py"
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


class RenderError(RuntimeError):
    """A Blender process failed; the message carries the end of its output."""


def make_spec(params: Params, params_path: Path) -> dict:
    """The resolved, JSON-only render spec that blender/render.py reads (no pydantic in Blender)."""
    base = params_path.resolve().parent
    rigs = {}
    for name, rig in params.rigs.items():
        d = rig.model_dump(mode="json")
        d["flip_pairs"] = [list(p) for p in rig.resolved_flip_pairs()]
        if rig.mesh.type == "file":
            d["mesh"]["path"] = str((base / rig.mesh.path).resolve())
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
    spec = {"seed": params.seed, "rigs": rigs, "render": params.render.model_dump(mode="json"),
            "photos": photos, "params_file": str(params_path)}
    return complete_spec(spec, base)


def blender_command(blender: str | None, args: list[str]) -> list[str]:
    """The `bpy` package by default; a stock Blender binary when `blender` names one."""
    if blender:
        return [blender, "--background", "--factory-startup", "--python", str(BLENDER_SCRIPT), "--", *args]
    return [sys.executable, str(BLENDER_SCRIPT), *args]


def run_blender(blender: str | None, args: list[str]) -> str:
    proc = subprocess.run(blender_command(blender, args), capture_output=True, text=True)
    if proc.returncode != 0:
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
        tail = "\n".join(errors) if errors else "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
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
    args = ["--spec", str(spec_path), "--out", str(out), "--start", str(shard[0]), "--end", str(shard[1]),
            "--threads", str(threads)]
    try:
        run_blender(blender, args)
    except RenderError:
        run_blender(blender, args)


def shards(num_images: int, shard_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + shard_size, num_images)) for s in range(0, num_images, shard_size)]


def done_count(out: Path) -> int:
    meta = out / "meta"
    return sum(1 for _ in meta.glob("*.json")) if meta.is_dir() else 0


# how the work is split and where params came from: they change no image or annotation byte
EXECUTION_KEYS = {"render": ("workers", "threads", "shard_size"), None: ("params_file",)}


def same_images(a: dict, b: dict) -> bool:
    """Whether two specs give the same images (execution settings aside)."""

    def content(spec: dict) -> dict:
        out = {k: v for k, v in spec.items() if k not in EXECUTION_KEYS[None]}
        out["render"] = {k: v for k, v in spec.get("render", {}).items() if k not in EXECUTION_KEYS["render"]}
        return out

    return content(a) == content(b)


def prepare_out(out: Path, spec: dict) -> None:
    """Keep finished images only if they were made from a spec with the same content; otherwise
    start clean. More workers or threads, or another shard size, keep what is finished."""
    spec_file = out / "spec.json"
    if spec_file.is_file() and not same_images(json.loads(spec_file.read_text()), spec):
        for sub in ("images", "meta"):
            shutil.rmtree(out / sub, ignore_errors=True)
        for f in ("annotations.json", "stats.json"):
            (out / f).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    spec_file.write_text(json.dumps(spec, indent=1) + "\n")


def render_dataset(params: Params, params_path: Path, out: Path, workers: int | None = None,
                   blender: str | None = None, only: tuple[int, int] | None = None, merge: bool = True,
                   progress: bool = True, launcher: str = "local", ray_address: str | None = None) -> dict | None:
    """Render every missing image (or those in `only`), then merge annotations.json.

    launcher `local`: a pool of `workers` Blender processes here. `ray`: every shard a Ray task on
    the cluster at `ray_address` (`local`: a new Ray here), see pipeline/launch_ray.py.
    """
    if launcher not in ("local", "ray"):
        raise ParamsError(f"launcher {launcher!r}: expected local or ray")
    if launcher == "ray":
        from pipeline import launch_ray  # ray is optional: imported only when asked for

        launch_ray.import_ray()  # a missing ray fails before any work
    spec = make_spec(params, params_path)
    prepare_out(out, spec)
    spec_path = out / "spec.json"
    check_rigs(spec_path, out, blender)
    ranges = shards(params.render.num_images, params.render.shard_size)
    if only is not None:
        ranges = [(max(a, only[0]), min(b, only[1])) for a, b in ranges if a < only[1] and b > only[0]]
    total = sum(b - a for a, b in ranges)
    pending = [(a, b) for a, b in ranges if any(not coco.meta_path(out, i).is_file() for i in range(a, b))]
    if launcher == "ray":
        threads = params.render.threads or 1  # one Ray CPU per thread; the cluster decides how many run
        run = partial(render_shard, spec_path.resolve(), out.resolve(), threads=threads, blender=blender)
        numbered = {a // params.render.shard_size: (a, b) for a, b in pending}
        gpus = 0 if params.render.device in ("CPU", "METAL") else 1  # Ray hides GPUs from tasks without one
        launch_ray.render_shards(numbered, run, threads, gpus, ray_address, progress)
        return merge_dataset(spec, out) if merge else None
    cores = os.cpu_count() or 1
    workers = workers or params.render.workers or cores
    threads = params.render.threads or max(1, cores // workers)
    one = partial(render_shard, spec_path, out, threads=threads, blender=blender)

    def finished() -> int:
        return sum(coco.meta_path(out, i).is_file() for a, b in ranges for i in range(a, b))

    bar = tqdm(total=total, initial=finished(), unit="img", desc="render", disable=not progress)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pending) or 1))) as pool:
        futures = [pool.submit(one, s) for s in pending]
        while not all(f.done() for f in futures):
            time.sleep(0.5)
            if finished() > bar.n:
                bar.update(finished() - bar.n)
        bar.update(finished() - bar.n)
        bar.close()
        for f in futures:
            f.result()
    return merge_dataset(spec, out) if merge else None


def merge_dataset(spec: dict, out: Path) -> dict:
    """annotations.json and stats.json from every image's meta file (all must be finished)."""
    spec_file = out / "spec.json"
    if spec_file.is_file() and not same_images(json.loads(spec_file.read_text()), spec):
        raise ParamsError(f"{out}/spec.json: the images there were rendered from other params; render again")
    data = coco.merge(spec, out, spec["render"]["num_images"])
    coco.write_json(out / "annotations.json", data)
    (out / "stats.json").write_text(json.dumps(dataset_stats(data), indent=1) + "\n")
    return data


def parse_range(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+):(\d+)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected START:END, got {text!r}")
    return int(m.group(1)), int(m.group(2))


SHARD_ENV = ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX")  # SLURM arrays, Kubernetes indexed Jobs


def shard_from(text: str, num_images: int, shard_size: int) -> tuple[int, int]:
    """`--shard N` or `--shard env` (the scheduler's task index) to that shard's index range."""
    if text == "env":
        found = [os.environ[k] for k in SHARD_ENV if k in os.environ]
        if not found:
            raise ParamsError(f"--shard env: none of {', '.join(SHARD_ENV)} is set")
        text = found[0]
    all_shards = shards(num_images, shard_size)
    if not text.isdigit() or int(text) >= len(all_shards):
        raise ParamsError(f"--shard {text}: expected 0..{len(all_shards) - 1} "
                          f"({num_images} images in shards of {shard_size})")
    return all_shards[int(text)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipeline.render", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--out", type=Path, default=Path("data/synthetic"))
    p.add_argument("--workers", type=int, default=None, help="parallel Blender processes (default: params)")
    p.add_argument("--blender", default=None, help="path of a Blender binary to use instead of the bpy package")
    p.add_argument("--range", type=parse_range, default=None, help="render only images START:END (no merge)")
    p.add_argument("--shard", default=None,
                   help="render only shard N of render.shard_size images (no merge); `env` takes N from "
                        "SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX")
    p.add_argument("--launcher", choices=("local", "ray"), default="local",
                   help="local: a pool of Blender processes here; ray: each shard a task on a Ray cluster")
    p.add_argument("--ray-address", default=None,
                   help="with --launcher ray: `auto`, host:6379, ray://host:10001, or `local` (a new Ray here); "
                        "default: RAY_ADDRESS, else a Ray started on this machine, else a new local one")
    p.add_argument("--num-shards", action="store_true",
                   help="only print how many shards the params make (a scheduler's array size) and exit")
    p.add_argument("--merge-only", action="store_true",
                   help="render nothing: merge finished shards into annotations.json (fails if any is missing)")
    p.add_argument("--metrics", type=Path, default=None,
                   help="also write the dataset stats here (for `dvc metrics show`; outside the --out folder)")
    p.add_argument("--write-spec", type=Path, default=None,
                   help="only validate params and write the resolved spec for blender/render.py")
    args = p.parse_args(argv)
    if args.ray_address and args.launcher != "ray":
        p.error("--ray-address needs --launcher ray")
    try:
        params = load_params(args.params)
        if args.num_shards:
            print(len(shards(params.render.num_images, params.render.shard_size)))
            return 0
        if args.write_spec:
            spec = make_spec(params, args.params)
            args.write_spec.parent.mkdir(parents=True, exist_ok=True)
            args.write_spec.write_text(json.dumps(spec, indent=1) + "\n")
            print(f"wrote {args.write_spec}")
            return 0
        if args.merge_only:
            data = merge_dataset(make_spec(params, args.params), args.out)
        else:
            only = args.range
            if args.shard is not None:
                only = shard_from(args.shard, params.render.num_images, params.render.shard_size)
            data = render_dataset(params, args.params, args.out, args.workers, args.blender,
                                  only=only, merge=only is None, launcher=args.launcher,
                                  ray_address=args.ray_address)
    except (ParamsError, RenderError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if data is not None:
        print(f"wrote {args.out / 'annotations.json'}: {len(data['images'])} images, "
              f"{len(data['annotations'])} instances")
        if args.metrics:
            args.metrics.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.out / "stats.json", args.metrics)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
