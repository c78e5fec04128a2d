"""Render throughput of the default rigs, and the share of time spent outside Blender's render call.

    python benchmarks/render_bench.py [--images 12] [--samples 16] [--threads 0] [--cases default,drop,distortion]

Cases: `default` (the shipped params), `drop` (placement.mode drop: `layout_s` holds the rigid-body
simulation; goal: under 30% more per image than default at 640x480), `distortion` (an OpenCV
barrel lens: a wider frame is rendered, then remapped), `pliers` (the articulated example: each
instance posed per image, keypoints read from the evaluated pose; its .blend is built first),
`box` (the symmetric box: labels canonicalized).

For each case and size (256x256, 640x480) one Blender process renders `--images` images of the
shipped params (the first is a warm-up and not counted). `outside` is everything per image that is
not `bpy.ops.render.render`: sampling, scene updates, ray casts, saving/reading passes, background,
PNG, RLE and JSON. Goal (render issue): outside < 10% at 640x480.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.blender_runner import BLENDER_SCRIPT, make_spec  # noqa: E402
from pipeline.schema import load_params  # noqa: E402

SHIPPED = ROOT / "params.yaml"
CASES = {  # name -> (params file, overrides)
    "default": (SHIPPED, {}),
    "drop": (SHIPPED, {"render.placement.mode": "drop"}),
    "distortion": (
        SHIPPED,
        {"render.camera.distortion": {"model": "opencv", "coeffs": [-0.25, 0.07, 0.0, 0.0, -0.01]}},
    ),
    "pliers": (ROOT / "examples" / "pliers" / "params.yaml", {}),
    "box": (ROOT / "examples" / "box" / "params.yaml", {}),
}


def bench(size: tuple[int, int], images: int, samples: int, threads: int, params: Path | None, case: str) -> dict:
    default_params, case_overrides = CASES[case]
    params = params or default_params
    overrides = {
        "render.resolutions": [list(size)],
        "render.num_images": images + 1,
        "render.samples": samples,
        **case_overrides,
    }
    spec = make_spec(load_params(params, overrides), params)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "spec.json").write_text(json.dumps(spec))
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(BLENDER_SCRIPT),
                "--spec",
                str(tmp / "spec.json"),
                "--out",
                str(tmp / "out"),
                "--threads",
                str(threads),
                "--timing",
                str(tmp / "timing.json"),
            ],
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - t0
        timing = json.loads((tmp / "timing.json").read_text())[1:]  # drop the warm-up image
    total = sum(t["total"] for t in timing)
    render = sum(t["render"] for t in timing)
    return {
        "case": case,
        "size": f"{size[0]}x{size[1]}",
        "images": len(timing),
        "samples": samples,
        "images_per_minute": round(60 * len(timing) / total, 1),
        "seconds_per_image": round(total / len(timing), 3),
        "render_call_s": round(render / len(timing), 3),
        "layout_s": round(sum(t["prepare"] for t in timing) / len(timing), 3),
        "outside_s": round((total - render) / len(timing), 3),
        "outside_share": round((total - render) / total, 4),
        "process_wall_s": round(wall, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=12)
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--threads", type=int, default=0, help="render threads (0: all cores)")
    p.add_argument("--params", type=Path, default=None, help="params file (default: each case's)")
    p.add_argument("--sizes", default="256x256,640x480")
    p.add_argument("--cases", default="default", help=f"comma-separated, of {', '.join(CASES)}")
    args = p.parse_args()
    if "pliers" in args.cases.split(",") and args.params is None:  # build the example's .blend (ignored by Git)
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "pliers" / "make_pliers.py")], check=True, capture_output=True
        )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    for case in args.cases.split(","):
        for size in args.sizes.split(","):
            w, h = (int(v) for v in size.split("x"))
            print(json.dumps(bench((w, h), args.images, args.samples, args.threads, args.params, case)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
