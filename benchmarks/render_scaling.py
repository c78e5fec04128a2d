"""Render throughput with 1, 2, 4, ... shards in parallel, and how well it scales.

    python benchmarks/render_scaling.py [--images 40] [--size 256x256] [--samples 16] [--max-workers N]

The same image set (shipped params.yaml rigs, `--images` images at `--size`) is rendered once per
worker count n: n shards of images/n, one Blender process each (`pipeline.rendering.blender_runner.render_shard`,
exactly what `rig2kp render` runs per shard) with `--threads` render threads (default 1; 0: as
the driver does, cores / n). The time counts from the first process start to the last one's end,
so Blender start-up and scene building per shard are included. Prints images/min and scaling
efficiency = throughput_n / (n * throughput_1), with the load average before and after each run
(other work on the machine lowers both), and checks that every n gives the same annotations.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blender.output import claim  # noqa: E402
from pipeline.rendering.blender_runner import check_rigs, make_spec, render_shard, shards  # noqa: E402
from pipeline.rendering.render_dataset import merge_dataset  # noqa: E402
from pipeline.schema import load_params  # noqa: E402


def worker_counts(max_workers: int) -> list[int]:
    """1, 2, 4, ... up to max_workers, and max_workers itself."""
    counts = [1 << k for k in range(max_workers.bit_length()) if 1 << k <= max_workers]
    return counts + ([max_workers] if counts[-1] != max_workers else [])


def run(spec: dict, tmp: Path, n: int, threads: int) -> dict:
    """Render every image as n shards in n parallel Blender processes; seconds from start to last end."""
    out = tmp / f"workers_{n}"
    claim(out, spec, may_reset=True).release()
    num_images = spec["render"]["num_images"]
    ranges = shards(num_images, math.ceil(num_images / n))
    threads = threads or max(1, (os.cpu_count() or 1) // n)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(lambda r: render_shard(out / "spec.json", out, r, threads, None), ranges))
    wall = time.perf_counter() - t0
    merge_dataset(spec, out)
    return {
        "workers": n, "shards": len(ranges), "threads_each": threads, "images": num_images,
        "wall_s": round(wall, 1), "images_per_minute": round(60 * num_images / wall, 2),
        "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
        "annotations": (out / "annotations.json").read_bytes(),
    }  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=40)
    p.add_argument("--size", default="256x256", help="WxH of every image")
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--threads", type=int, default=1, help="render threads per Blender process (0: cores / workers)")
    p.add_argument("--max-workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    overrides = {"render.resolutions": [[w, h]], "render.num_images": args.images, "render.samples": args.samples}
    spec = make_spec(load_params(args.params, overrides), args.params)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"{args.images} images at {args.size}, {args.samples} samples, shipped rigs ({args.params})", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        claim(tmp / "check", spec, may_reset=True).release()
        check_rigs(tmp / "check" / "spec.json", tmp / "check", None)  # warm-up: Blender and files in the cache
        for n in worker_counts(args.max_workers):
            r = run(spec, tmp, n, args.threads)
            r["efficiency"] = (
                round(r["images_per_minute"] / (n * results[0]["images_per_minute"]), 3) if results else 1.0
            )
            results.append(r)
            print(json.dumps({k: v for k, v in r.items() if k != "annotations"}), flush=True)
    same = all(r["annotations"] == results[0]["annotations"] for r in results)
    print(f"same annotations.json for every worker count: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
