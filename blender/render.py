"""Render a range of images with exact COCO keypoints. Runs inside Blender.

    blender --background --python blender/render.py -- --spec SPEC.json --out DIR [--start 0 --end N]
    python blender/render.py --spec SPEC.json --out DIR ...       (with the `bpy` package)

SPEC.json is the validated, resolved params that `python -m pipeline.render` writes (it is also
saved as DIR/spec.json). Images already finished in DIR are skipped, so a crashed run resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    import bpy  # noqa: F401
except ImportError:
    sys.exit("blender/render.py must run inside Blender: `blender --background --python "
             "blender/render.py -- ...`, or with the `bpy` package installed (pip install bpy)")
import numpy as np  # noqa: E402

from blender import annotate, backgrounds, coco  # noqa: E402
from blender.exr import find_channel, read_exr  # noqa: E402
from blender.layout import Layout, ViewError, layout, layout_meta, layout_record  # noqa: E402
from blender.lens import LensError  # noqa: E402
from blender.physics import DropError  # noqa: E402
from blender.png import linear_to_srgb8, write_png  # noqa: E402
from blender.rigs import RigError  # noqa: E402
from blender.sampling import sample_scene  # noqa: E402
from blender.scene import Scene  # noqa: E402

MIN_BLENDER = (3, 4, 0)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="blender/render.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spec", required=True, type=Path, help="resolved spec JSON from pipeline.render")
    p.add_argument("--out", required=True, type=Path, help="dataset folder to write")
    p.add_argument("--start", type=int, default=0, help="first image index (default 0)")
    p.add_argument("--end", type=int, default=None, help="one past the last index (default: all)")
    p.add_argument("--threads", type=int, default=0, help="render threads (0: Blender decides)")
    p.add_argument("--check", action="store_true", help="build the scene, print rig facts, render nothing")
    p.add_argument("--merge", action="store_true", help="write annotations.json when all images exist")
    p.add_argument("--timing", type=Path, help="write per-image timings (seconds) to this JSON file")
    p.add_argument("--scenes", type=Path, help="JSON list of explicit scenes (as sampling.sample_scene "
                   "returns) to render instead of sampled ones; image i shows scene i")
    p.add_argument("--keep-passes", action="store_true", help="keep each image's EXR passes in DIR/passes/")
    p.add_argument("--layout-only", action="store_true", help="render nothing: write each image's layout (settled "
                   "poses, chosen view, keypoints with v, drop and view reports) to DIR/layout/NNNNNN.json")
    return p.parse_args(argv)


class Renderer:
    """One scene, many images: sample -> apply -> annotate -> render -> write."""

    def __init__(self, spec: dict, out: Path, threads: int, keep_passes: bool = False):
        self.spec, self.out, self.keep_passes = spec, out, keep_passes
        self.scene = Scene(spec, threads)
        self.radii = {n: t.radius for n, t in self.scene.templates.items()}
        self.category = {name: i for i, name in enumerate(spec["rigs"], start=1)}
        self.tolerance = {n: np.array([k["tolerance"] for k in r["keypoints"]]) for n, r in spec["rigs"].items()}
        self.tmp = Path(tempfile.mkdtemp(prefix="rig2kp_"))
        self.photos: dict[int, np.ndarray] = {}

    def _photo(self, i: int) -> np.ndarray:
        if i not in self.photos:
            img = bpy.data.images.load(self.spec["photos"][i])
            w, h = img.size
            px = np.empty(w * h * 4, np.float32)
            img.pixels.foreach_get(px)
            bpy.data.images.remove(img)
            if len(self.photos) > 16:
                self.photos.clear()
            self.photos[i] = px.reshape(h, w, 4)[::-1]
        return self.photos[i]

    def layout(self, index: int, sample: dict | None = None) -> Layout:
        """Image `index` set up for rendering (sampled from (seed, index), or the explicit scene
        `sample`): drop settled, view chosen, keypoints projected with their visibility."""
        sample = sample if sample is not None else sample_scene(self.spec, index, self.radii)
        return layout(self.scene, self.spec, index, sample, self.radii, self.tolerance)

    def render(self, index: int, sample: dict | None = None) -> dict:
        """Render image `index`: sampled from (seed, index), or the explicit scene `sample`."""
        t0 = time.perf_counter()
        lay = self.layout(index, sample)
        sample, objects, lens = lay.sample, lay.objects, lay.lens
        width, height, K, w2c, c2w = sample["width"], sample["height"], lens.K, lay.world_to_cam, lay.camera_to_world
        t1 = time.perf_counter()

        exr = self.out / "passes" / f"{index:06d}.exr" if self.keep_passes else self.tmp / "passes.exr"
        exrs = self.scene.render(exr)
        t2 = time.perf_counter()
        self.scene.save_passes(exr)

        passes = [read_exr(p, keep=lambda name: "Noisy" not in name) for p in exrs]
        index_map = np.rint(find_channel(passes[-1], ("IndexOB", "Object Index"), "X")).astype(np.int32)
        rgba = np.stack([find_channel(passes[0], ("Combined",), c) for c in "RGBA"], axis=-1)
        index_map, rgba = lens.remap(index_map, nearest=True), lens.remap(rgba)  # distorted: to the image
        bg = sample["background"]
        if bg["kind"] == "procedural":
            rgb = backgrounds.composite(rgba, backgrounds.procedural(
                bg["pattern"], bg["seed"], height, width, bg.get("saturation", 1.0), bg.get("brightness")))
        elif bg["kind"] == "photos":
            rgb = backgrounds.composite(rgba, backgrounds.photo(self._photo(bg["photo"]), bg["seed"], height, width))
        elif bg["kind"] == "color":
            rgb = backgrounds.composite(rgba, np.broadcast_to(np.float32(bg["color"]), (height, width, 3)))
        else:
            rgb = rgba[..., :3]
        file_name = f"images/{index:06d}.png"
        write_png(self.out / file_name, linear_to_srgb8(rgb))

        annotations, meta_objects = [], []
        for o in objects:
            mask = index_map == o["obj"].pass_index
            visible = int(mask.sum())
            kept = visible >= self.spec["render"]["min_visible_px"]
            if kept:
                annotations.append(annotate.instance_record(self.category[o["rig"]], o["uv"], o["v"], mask))
            meta_objects.append({
                "rig": o["rig"], "object_to_world": np.round(o["matrix"], 9).tolist(),
                "keypoints_world": np.round(o["world"], 9).tolist(),
                "visible_px": visible, "kept": kept,
            })
        meta = {
            "index": index, "seed": self.spec["seed"], "width": width, "height": height,
            "file_name": file_name,
            "camera": {"K": np.round(K, 9).tolist(), "world_to_camera": np.round(w2c, 9).tolist(),
                       "world_to_camera_blender": np.round(np.linalg.inv(c2w), 9).tolist(),
                       "focal_mm": sample["camera"]["focal_mm"], "sensor_mm": sample["camera"]["sensor_mm"],
                       "sensor_fit": "HORIZONTAL"},
            "objects": meta_objects,
            "background": bg,
            "annotations": annotations,
        }
        meta = layout_meta(meta, lay)  # calibrated lens, drop and view reports: only when used
        coco.write_json(coco.meta_path(self.out, index), meta)  # last: its existence marks done
        t3 = time.perf_counter()
        return {"index": index, "prepare": t1 - t0, "render": t2 - t1, "write": t3 - t2, "total": t3 - t0}


def write_layouts(renderer: Renderer, args: argparse.Namespace, end: int, scenes: list | None) -> int:
    """--layout-only: each image's layout as JSON, no rendering (checks physics and views quickly)."""
    (args.out / "layout").mkdir(parents=True, exist_ok=True)
    try:
        for index in range(args.start, end):
            t0 = time.perf_counter()
            lay = renderer.layout(index, scenes[index] if scenes is not None else None)
            record = layout_record(lay, index)
            record["seconds"] = round(time.perf_counter() - t0, 4)
            (args.out / "layout" / f"{index:06d}.json").write_text(json.dumps(record) + "\n")
    except (DropError, ViewError, LensError) as exc:
        print(f"error: {renderer.spec.get('params_file', 'params')}: {exc}", file=sys.stderr)
        return 2
    print(f"[render] wrote {end - args.start} layouts to {args.out / 'layout'}")
    return 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if bpy.app.version < MIN_BLENDER:
        print(f"error: Blender {bpy.app.version_string} is too old; rig2kp needs Blender >= 3.4", file=sys.stderr)
        return 2
    try:
        spec = json.loads(args.spec.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: --spec {args.spec}: {exc}; write one with `rig2kp render --write-spec PATH`",
              file=sys.stderr)
        return 2
    scenes = json.loads(args.scenes.read_text()) if args.scenes else None
    if scenes is not None:
        spec["render"]["num_images"] = len(scenes)
    end = spec["render"]["num_images"] if args.end is None else min(args.end, spec["render"]["num_images"])
    for sub in ("images", "meta") + (("passes",) if args.keep_passes else ()):
        (args.out / sub).mkdir(parents=True, exist_ok=True)
    todo = [i for i in range(args.start, end) if args.layout_only or not coco.meta_path(args.out, i).is_file()]
    if not todo and not args.check:
        print(f"[render] {args.start}..{end}: all {end - args.start} images already done")
    try:
        renderer = Renderer(spec, args.out, args.threads, args.keep_passes) if todo or args.check else None
    except (RigError, RuntimeError, LensError) as exc:
        print(f"error: {spec.get('params_file', 'params')}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        facts = {n: {"radius": t.radius, "center": t.center.round(6).tolist(), "extent": t.extent,
                     "keypoints_local": t.keypoints_local.round(6).tolist(),
                     "slots": t.slot_names} for n, t in renderer.scene.templates.items()}
        print("RIG2KP_CHECK " + json.dumps(facts))
        return 0
    if args.layout_only:
        return write_layouts(renderer, args, end, scenes)
    timings = []
    try:
        for k, index in enumerate(todo):
            timings.append(renderer.render(index, scenes[index] if scenes is not None else None))
            t = timings[-1]
            print(f"[render] image {index} ({k + 1}/{len(todo)}) {t['total']:.2f}s "
                  f"(render {t['render']:.2f}s)", flush=True)
    except (DropError, ViewError, LensError) as exc:
        print(f"error: {spec.get('params_file', 'params')}: {exc}", file=sys.stderr)
        return 2
    if args.timing:
        args.timing.write_text(json.dumps(timings))
    if args.merge:
        coco.write_json(args.out / "annotations.json", coco.merge(spec, args.out, spec["render"]["num_images"]))
        print(f"[render] wrote {args.out / 'annotations.json'}")
    return 0


if __name__ == "__main__":
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    try:
        code = main(argv)
    except Exception:  # a stock Blender would print the traceback and still exit 0
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    if bpy.app.background and "--" in sys.argv:
        os._exit(code)  # a stock Blender would otherwise go on to parse our flags as its own
    sys.exit(code)
