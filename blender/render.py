"""Render a range of images with exact COCO keypoints. Runs inside Blender.

    blender --background --python blender/render.py -- --spec SPEC.json --out DIR [--start 0 --end N]
    python blender/render.py --spec SPEC.json --out DIR ...       (with the `bpy` package)

SPEC.json is the validated, resolved params that `rig2kp render` writes (it is also
saved as DIR/spec.json). Images already finished in DIR are skipped, so a crashed run resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    import bpy  # noqa: F401
except ImportError:
    sys.exit(
        "blender/render.py must run inside Blender: `blender --background --python "
        "blender/render.py -- ...`, or with the `bpy` package installed (pip install bpy)"
    )
try:
    import numpy as np
except ImportError:  # Debian's Blender uses the system's Python, which needs its own numpy
    sys.exit(
        "error: this Blender's Python has no numpy; install it for that Python (Debian/Ubuntu: "
        "`apt install python3-numpy`), or use the bpy package (pip install bpy)"
    )

from blender import annotate, output
from blender.codecs.exr import find_channel, read_exr  # noqa: E402
from blender.codecs.png import linear_to_srgb8, write_png  # noqa: E402
from blender.layout import Layout, ViewError, layout, layout_meta, layout_record  # noqa: E402
from blender.optics.lens import LensError  # noqa: E402
from blender.placement.physics import DropError  # noqa: E402
from blender.rigging.rigs import RigError  # noqa: E402
from blender.sampling import sample_scene  # noqa: E402
from blender.scene import Scene  # noqa: E402
from blender.world import backgrounds  # noqa: E402
from common.atomic import file_sha256, os_error_line, write_json, write_text  # noqa: E402
from common.render_spec import RenderSpec, load_spec  # noqa: E402

MIN_BLENDER = (3, 4, 0)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="blender/render.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--spec", required=True, type=Path, help="resolved spec JSON (rig2kp render --write-spec)")
    p.add_argument("--out", required=True, type=Path, help="dataset folder to write")
    p.add_argument("--start", type=int, default=0, help="first image index (default 0)")
    p.add_argument("--end", type=int, default=None, help="one past the last index (default: all)")
    p.add_argument("--threads", type=int, default=0, help="render threads (0: Blender decides)")
    p.add_argument("--check", action="store_true", help="build the scene, print rig facts, render nothing")
    p.add_argument("--merge", action="store_true", help="write annotations.json when all images exist")
    p.add_argument("--timing", type=Path, help="write per-image timings (seconds) to this JSON file")
    p.add_argument(
        "--scenes",
        type=Path,
        help="JSON list of explicit scenes (as sampling.sample_scene "
        "returns) to render instead of sampled ones; image i shows scene i",
    )
    p.add_argument("--keep-passes", action="store_true", help="keep each image's EXR passes in DIR/passes/")
    p.add_argument(
        "--layout-only",
        action="store_true",
        help="render nothing: write each image's layout (settled "
        "poses, chosen view, keypoints with v, drop and view reports) to DIR/layout/NNNNNN.json",
    )
    return p.parse_args(argv)


class Renderer:
    """One scene, many images: sample -> apply -> annotate -> render -> write."""

    def __init__(self, spec: RenderSpec, digest: str, out: Path, threads: int, keep_passes: bool = False):
        self.spec, self.digest, self.out, self.keep_passes = spec, digest, out, keep_passes
        self.scene = Scene(spec, threads)
        self.radii = {n: t.radius for n, t in self.scene.templates.items()}
        self.category = {name: i for i, name in enumerate(spec.rigs, start=1)}
        self.tolerance = {n: np.array([k.tolerance for k in r.keypoints]) for n, r in spec.rigs.items()}
        self.tmp = Path(tempfile.mkdtemp(prefix="rig2kp_"))
        self.photos: dict[int, np.ndarray] = {}

    def close(self) -> None:
        """Remove this process's temporary files (ours and Blender's session folder)."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        session = getattr(bpy.app, "tempdir", "")
        if session and Path(session).name.startswith("blender_"):
            shutil.rmtree(session, ignore_errors=True)

    def _photo(self, i: int) -> np.ndarray:
        if i not in self.photos:
            img = bpy.data.images.load(self.spec.photos[i])
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
        `sample`): drop settled, view chosen, keypoints projected with their visibility and, for
        symmetric rigs, in the canonical order."""
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
            rgb = backgrounds.composite(
                rgba,
                backgrounds.procedural(
                    bg["pattern"], bg["seed"], height, width, bg.get("saturation", 1.0), bg.get("brightness")
                ),
            )
        elif bg["kind"] == "photos":
            rgb = backgrounds.composite(rgba, backgrounds.photo(self._photo(bg["photo"]), bg["seed"], height, width))
        elif bg["kind"] == "color":
            rgb = backgrounds.composite(rgba, np.broadcast_to(np.float32(bg["color"]), (height, width, 3)))
        else:
            rgb = rgba[..., :3]
        file_name = output.image_name(index)
        image_bytes, image_sha256 = write_png(self.out / file_name, linear_to_srgb8(rgb))

        annotations, meta_objects = [], []
        for o in objects:
            mask = index_map == o["obj"].pass_index
            visible = int(mask.sum())
            kept = visible >= self.spec.render.min_visible_px
            if kept:
                annotations.append(annotate.instance_record(self.category[o["rig"]], o["uv"], o["v"], mask))
            meta_objects.append(
                {
                    "rig": o["rig"],
                    "object_to_world": np.round(o["matrix"], 9).tolist(),
                    "keypoints_world": np.round(o["world"], 9).tolist(),
                    "visible_px": visible,
                    "kept": kept,
                    **{k: o[k] for k in ("articulation", "symmetry_permutation") if k in o},
                }
            )
        meta = {
            "index": index,
            "seed": self.spec.seed,
            "spec_hash": self.digest,
            "width": width,
            "height": height,
            "file_name": file_name,
            "image_bytes": image_bytes,
            "image_sha256": image_sha256,
            "camera": {
                "K": np.round(K, 9).tolist(),
                "world_to_camera": np.round(w2c, 9).tolist(),
                "world_to_camera_blender": np.round(np.linalg.inv(c2w), 9).tolist(),
                "focal_mm": sample["camera"]["focal_mm"],
                "sensor_mm": sample["camera"]["sensor_mm"],
                "sensor_fit": "HORIZONTAL",
            },
            "objects": meta_objects,
            "background": bg,
            "annotations": annotations,
        }
        meta = layout_meta(meta, lay)  # calibrated lens, drop and view reports: only when used
        write_json(output.meta_path(self.out, index), meta)  # last: it marks the image done
        t3 = time.perf_counter()
        return {"index": index, "prepare": t1 - t0, "render": t2 - t1, "write": t3 - t2, "total": t3 - t0}


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if bpy.app.version < MIN_BLENDER:
        print(f"error: Blender {bpy.app.version_string} is too old; rig2kp needs Blender >= 3.4", file=sys.stderr)
        return 2
    scenes = json.loads(args.scenes.read_text()) if args.scenes else None
    try:
        raw = json.loads(args.spec.read_text())
        if scenes is not None:
            raw["render"]["num_images"] = len(scenes)
        spec = load_spec(raw)
    except (OSError, ValueError) as exc:  # SpecError too: a spec.json that older or newer code wrote
        print(f"error: --spec {args.spec}: {exc}; write one with `rig2kp render --write-spec PATH`", file=sys.stderr)
        return 2
    if scenes is not None:
        raw["scenes_sha256"] = file_sha256(args.scenes)  # the folder's identity (output.spec_hash), not a setting
    end = spec.render.num_images if args.end is None else min(args.end, spec.render.num_images)
    if args.check:
        return check(spec, args.threads)
    if args.layout_only:
        return write_layouts(spec, output.spec_hash(raw), args, end, scenes)
    try:
        lock = output.claim(args.out, raw, may_reset=False)
    except output.OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with lock:
        return render_range(spec, raw, args, scenes, end)


def check(spec: RenderSpec, threads: int) -> int:
    """Build the scene without rendering and print the rigs' facts (the driver's rig check)."""
    try:
        renderer = Renderer(spec, "", Path(tempfile.gettempdir()), threads)  # writes no meta file: no digest
    except (RigError, RuntimeError, LensError) as exc:
        print(f"error: {spec.params_file}: {exc}", file=sys.stderr)
        return 2
    try:
        facts = {
            n: {
                "radius": t.radius,
                "center": t.center.round(6).tolist(),
                "extent": t.extent,
                "keypoints_local": t.keypoints_local.round(6).tolist(),
                "slots": t.slot_names,
            }
            for n, t in renderer.scene.templates.items()
        }
        for n, group in renderer.scene.groups.items():
            facts[n]["symmetry_permutations"] = group
        print("RIG2KP_CHECK " + json.dumps(facts))
    finally:
        renderer.close()
    return 0


def write_layouts(spec: RenderSpec, digest: str, args: argparse.Namespace, end: int, scenes: list | None) -> int:
    """--layout-only: each image's layout as JSON, no rendering (checks physics and views quickly)."""
    renderer = None
    try:
        renderer = Renderer(spec, digest, args.out, args.threads, args.keep_passes)
        for index in range(args.start, end):
            t0 = time.perf_counter()
            record = layout_record(renderer.layout(index, scenes[index] if scenes is not None else None), index)
            record["seconds"] = round(time.perf_counter() - t0, 4)
            write_json(args.out / "layout" / f"{index:06d}.json", record)
    except (RigError, DropError, ViewError, LensError, RuntimeError) as exc:
        print(f"error: {spec.params_file}: {exc}", file=sys.stderr)
        return 2
    finally:
        if renderer is not None:
            renderer.close()
    print(f"[render] wrote {end - args.start} layouts to {args.out / 'layout'}")
    return 0


def render_range(spec: RenderSpec, raw: dict, args: argparse.Namespace, scenes: list | None, end: int) -> int:
    """Render every unfinished image of start..end-1 (and merge when asked), holding the folder's lock;
    `raw` is the spec as JSON, which names the folder (blender/output.py)."""
    for sub in ("images", "meta") + (("passes",) if args.keep_passes else ()):
        (args.out / sub).mkdir(parents=True, exist_ok=True)
    digest = output.spec_hash(raw)
    todo = output.unfinished(digest, args.out, range(args.start, end))
    for index in todo:
        output.forget(args.out, index)
    if not todo:
        print(f"[render] {args.start}..{end}: all {end - args.start} images already done")
    renderer = None
    try:
        if todo:
            renderer = Renderer(spec, digest, args.out, args.threads, args.keep_passes)
            if renderer.scene.groups:  # the merge writes each symmetric rig's group into its COCO category
                output.write_symmetry(args.out, renderer.scene.groups)
        timings = []
        for k, index in enumerate(todo):
            timings.append(renderer.render(index, scenes[index] if scenes is not None else None))
            t = timings[-1]
            print(
                f"[render] image {index} ({k + 1}/{len(todo)}) {t['total']:.2f}s (render {t['render']:.2f}s)",
                flush=True,
            )
        if args.timing:
            write_text(args.timing, json.dumps(timings))
        if args.merge:
            data = output.merge(spec, digest, args.out)
            write_json(args.out / "annotations.json", data)
            print(f"[render] wrote {args.out / 'annotations.json'}")
    except (RigError, RuntimeError, LensError) as exc:  # a device Blender lacks, a drop or view, a folder taken
        print(f"error: {spec.params_file}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only folder: one line, nothing cut short left behind
        line = os_error_line(exc, args.out)
        print(f"error: {line}; then run the render again (finished images are kept)", file=sys.stderr)
        return 2
    finally:
        if renderer is not None:
            renderer.close()
    return 0


if __name__ == "__main__":
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
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
