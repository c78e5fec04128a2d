"""Render stage: validate params, then render shards in parallel Blender processes and merge.

    python -m pipeline.rendering.render_dataset [--params params.yaml] [--out data/synthetic]   (= rig2kp render)

Each shard (an index range of `render.shard_size` images) is one Blender process, so memory is
capped by restarting Blender; finished images are kept, so an interrupted render resumes. The
output folder belongs to one spec (blender/output.py): params that give other images start it
afresh, and a second render with other params on the same folder is refused while the first
works there. Beyond one machine: `--shard N|env` and `--merge-only` for a scheduler's array of
jobs (SLURM, Kubernetes), `--launcher ray` for a Ray cluster (pipeline/rendering/launch_ray.py).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from tqdm import tqdm

from blender import output
from common.atomic import write_json
from pipeline.coco_files.stats import dataset_stats, layout_stats
from pipeline.errors import run_command
from pipeline.outputs import Owner, refuse_overlap, take_output, take_output_file
from pipeline.project.dvc_deps import check_stage
from pipeline.rendering import launch_ray
from pipeline.rendering.blender_runner import RenderError, check_rigs, make_spec, render_shard, shards, typed_spec
from pipeline.schema import Params, ParamsError
from pipeline.stage_args import add_out, add_params_args, params_from_args, stage_parser

# a render folder is one whose spec.json is a render's (an augment run writes a spec.json too)
OWNER = Owner("render", output.SPEC, {"rigs": None, "render": None}, ignore=(output.LOCK,))
SPEC_KEYS = {"rigs", "render"}  # a resolved spec (--write-spec) holds these
STATS_KEYS = {"images", "instances", "categories"}  # the dataset stats (--metrics) hold these


def input_paths(params: Params, params_path: Path) -> dict[str, Path]:
    """Everything the render reads, by what it is: an --out that holds any of them is refused."""
    base = params_path.resolve().parent
    found: dict[str, Path] = {"params file": params_path}
    for name, rig in params.rigs.items():
        if rig.mesh.type == "file":
            found[f"mesh of rig {name}"] = base / rig.mesh.path
    if params.render.background.photos > 0:
        found["render.background.photos_dir"] = base / params.render.background.photos_dir
    return found


def render_dataset(
    params: Params,
    params_path: Path,
    out: Path,
    workers: int | None = None,
    blender: str | None = None,
    only: tuple[int, int] | None = None,
    merge: bool = True,
    progress: bool = True,
    launcher: str = "local",
    ray_address: str | None = None,
) -> dict | None:
    """Render every unfinished image (or those in `only`), then merge annotations.json.

    launcher `local`: a pool of `workers` Blender processes here. `ray`: every shard a Ray task on
    the cluster at `ray_address` (`local`: a new Ray here), see pipeline/rendering/launch_ray.py.
    """
    if launcher not in ("local", "ray"):
        raise ParamsError(f"launcher {launcher!r}: expected local or ray")
    if launcher == "ray":
        launch_ray.import_ray()  # a missing ray fails before any work
    refuse_overlap(out, input_paths(params, params_path))
    take_output(out, OWNER)
    spec = make_spec(params, params_path)
    with tempfile.TemporaryDirectory(prefix="rig2kp-check-") as tmp:  # before the folder is touched
        write_json(Path(tmp) / output.SPEC, spec)
        check_rigs(Path(tmp) / output.SPEC, Path(tmp), blender)  # what only Blender finds wrong
    with output.claim(out, spec, may_reset=True) as lock:
        spec_path = out / output.SPEC
        ranges = shards(params.render.num_images, params.render.shard_size)
        if only is not None:
            ranges = [(max(a, only[0]), min(b, only[1])) for a, b in ranges if a < only[1] and b > only[0]]
        total = sum(b - a for a, b in ranges)
        todo = set(output.unfinished(output.spec_hash(spec), out, (i for a, b in ranges for i in range(a, b))))
        for index in todo:  # a meta file marks done: what is left of an unfinished image goes first
            output.forget(out, index)
        pending = [(a, b) for a, b in ranges if any(i in todo for i in range(a, b))]
        if launcher == "ray":
            threads = params.render.threads or 1  # one Ray CPU per thread; the cluster decides how many run
            run = partial(render_shard, spec_path.resolve(), out.resolve(), threads=threads, blender=blender)
            numbered = {a // params.render.shard_size: (a, b) for a, b in pending}
            gpus = 0 if params.render.device in ("CPU", "METAL") else 1  # Ray hides GPUs from tasks without one
            launch_ray.render_shards(numbered, run, threads, gpus, ray_address, progress)
        else:
            render_local(pending, spec_path, out, params, workers, blender, total - len(todo), total, progress)
        lock.sweep()  # every Blender of this run has ended: what an earlier, killed one left can go
        return merge_dataset(spec, out) if merge else None


def render_local(
    pending,
    spec_path: Path,
    out: Path,
    params: Params,
    workers: int | None,
    blender: str | None,
    done: int,
    total: int,
    progress: bool,
) -> None:
    """A pool of Blender processes here, one shard each; the bar counts meta files as they appear."""
    cores = os.cpu_count() or 1
    workers = workers or params.render.workers or cores
    threads = params.render.threads or max(1, cores // workers)
    one = partial(render_shard, spec_path, out, threads=threads, blender=blender)
    # the images still to render (a pending shard may hold finished ones, counted in `done` already)
    indices = [i for a, b in pending for i in range(a, b) if not output.meta_path(out, i).is_file()]

    def finished() -> int:
        return done + sum(output.meta_path(out, i).is_file() for i in indices)

    bar = tqdm(total=total, initial=finished(), unit="img", desc="render", disable=not progress)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pending) or 1))) as pool:
        futures = [pool.submit(one, s) for s in pending]
        while not all(f.done() for f in futures):
            time.sleep(0.5)
            bar.update(finished() - bar.n)
        bar.update(finished() - bar.n)
        bar.close()  # before any error message, which then starts a line of its own
        for f in futures:
            f.result()


def merge_dataset(spec: dict, out: Path) -> dict:
    """annotations.json and stats.json from every image's meta file (all must be finished for `spec`)."""
    typed = typed_spec(spec)
    with output.claim(out, spec, may_reset=False):
        data = output.merge(typed, output.spec_hash(spec), out)
        write_json(out / "annotations.json", data)
        metas = [output.read_meta(out, i) for i in range(typed.render.num_images)]
        write_json(out / "stats.json", {**dataset_stats(data), **layout_stats(metas)}, indent=1)
    return data


def unseen_warning(data: dict) -> str | None:
    """A warning when at least half the images hold no instance: a camera (a principal point or a
    pose) that leaves the objects out of frame, or objects too small to keep, renders empty images
    without any error."""
    total = len(data["images"])
    empty = total - len({a["image_id"] for a in data["annotations"]})
    if total == 0 or 2 * empty < total:
        return None
    return (
        f"{empty} of {total} images hold no instance in view (every object out of frame, hidden, or below "
        "render.min_visible_px); check render.camera (intrinsics and their principal point, distance, "
        "focal_mm) and render.placement"
    )


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
        raise ParamsError(
            f"--shard {text}: expected 0..{len(all_shards) - 1} ({num_images} images in shards of {shard_size})"
        )
    return all_shards[int(text)]


def main(argv: list[str] | None = None) -> int:
    p = stage_parser("rig2kp render", __doc__)
    add_params_args(p)
    add_out(p, "data/synthetic", "dataset folder to render into (images/, meta/, annotations.json)")
    p.add_argument("--workers", type=int, default=None, help="parallel Blender processes (default: params)")
    p.add_argument("--blender", default=None, help="path of a Blender binary to use instead of the bpy package")
    p.add_argument("--range", type=parse_range, default=None, help="render only images START:END (no merge)")
    p.add_argument(
        "--shard",
        default=None,
        help="render only shard N of render.shard_size images (no merge); `env` takes N from "
        "SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX",
    )
    p.add_argument(
        "--launcher",
        choices=("local", "ray"),
        default="local",
        help="local: a pool of Blender processes here; ray: each shard a task on a Ray cluster",
    )
    p.add_argument(
        "--ray-address",
        default=None,
        help="with --launcher ray: `auto`, host:6379, ray://host:10001, or `local` (a new Ray here); "
        "default: RAY_ADDRESS, else a Ray started on this machine, else a new local one",
    )
    p.add_argument(
        "--num-shards",
        action="store_true",
        help="only print how many shards the params make (a scheduler's array size) and exit",
    )
    p.add_argument(
        "--merge-only",
        action="store_true",
        help="render nothing: merge finished shards into annotations.json (fails if any is missing)",
    )
    p.add_argument(
        "--metrics",
        type=Path,
        default=None,
        help="also write the dataset stats here (for `dvc metrics show`; outside the --out folder)",
    )
    p.add_argument(
        "--write-spec",
        type=Path,
        default=None,
        help="only validate params and write the resolved spec for blender/render.py",
    )
    args = p.parse_args(argv)
    if args.ray_address and args.launcher != "ray":
        p.error("--ray-address needs --launcher ray")
    return run_command(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except output.OutputError as exc:  # a render folder this run may not write (blender/ knows no Rig2kpError)
        raise RenderError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    params = params_from_args(args)
    check_stage("render", params, args.params)  # under DVC: every file params name is in deps
    if args.num_shards:
        print(len(shards(params.render.num_images, params.render.shard_size)))
        return 0
    # single output files, before any work: never over a file this command did not write
    if args.write_spec:
        take_output_file(args.write_spec, lambda d: SPEC_KEYS <= d.keys(), "a spec that `rig2kp render` wrote",
                         "--write-spec")  # fmt: skip
    if args.metrics:
        take_output_file(args.metrics, lambda d: STATS_KEYS <= d.keys(), "dataset stats that `rig2kp render` wrote",
                         "--metrics")  # fmt: skip
    if args.write_spec:
        spec = make_spec(params, args.params)
        write_json(args.write_spec, spec, indent=1)
        print(f"wrote {args.write_spec}")
        return 0
    if args.merge_only:
        data = merge_dataset(make_spec(params, args.params), args.out)
    else:
        only = args.range
        if args.shard is not None:
            only = shard_from(args.shard, params.render.num_images, params.render.shard_size)
        data = render_dataset(
            params,
            args.params,
            args.out,
            args.workers,
            args.blender,
            only=only,
            merge=only is None,
            launcher=args.launcher,
            ray_address=args.ray_address,
        )
    if data is not None:
        print(
            f"wrote {args.out / 'annotations.json'}: {len(data['images'])} images, {len(data['annotations'])} instances"
        )
        if warning := unseen_warning(data):
            print(f"warning: {warning}", file=sys.stderr)
        if args.metrics:
            args.metrics.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.out / "stats.json", args.metrics)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
