"""Preview a rig before rendering thousands of images: a turntable contact sheet, keypoints named.

    python -m pipeline.authoring.preview [--params params.yaml] [--rig glue_tube] [--views 8] [--out preview]

Each view is a real render (same code path as the dataset) of one instance at the centre, the
camera circling it; keypoints are drawn from the annotations (filled: seen, ring: hidden).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from blender.optics.camera import look_at, spherical_position
from blender.random_draws import rng_for
from blender.surfaces.appearance import sample_decals, sample_jitter, sample_material
from common.atomic import replacing
from common.render_spec import Rig
from pipeline.drawing.contact_sheet import contact_sheet
from pipeline.drawing.draw import draw_annotations
from pipeline.errors import run_command
from pipeline.outputs import own_output, refuse_overlap, stage_owner
from pipeline.rendering.blender_runner import check_rigs, make_spec, run_blender, typed_spec
from pipeline.schema import ParamsError, load_params

OWNER = stage_owner("preview")  # its marker in --out: a later run may write there again


def turntable_scenes(
    rig: str, rig_spec: Rig, center, extent: float, views: int, size: int, elevation_deg: float, seed: int
) -> list[dict]:
    """One instance at the origin; the camera circles its box centre at a distance that frames it.

    Replaced materials are drawn once for the sheet; jitter and decal placements are drawn per view
    (from the same streams as image k of a render), so the sheet shows how far they vary.
    """
    focal, sensor = 50.0, 36.0
    distance = 1.3 * extent / (sensor / 2 / focal)
    rng = np.random.default_rng(seed)
    entries = sorted(rig_spec.materials.items())
    materials = {name: sample_material(rng, r) for name, r in entries if r.mode == "replace"}
    scenes = []
    for k in range(views):
        arng = rng_for(seed, k, "appearance")
        looks = {**materials, **{name: sample_jitter(arng, r) for name, r in entries if r.mode == "jitter"}}
        az = 2 * math.pi * k / views - math.pi / 2
        pos = spherical_position(center, distance, math.radians(elevation_deg), az)
        scenes.append(
            {
                "index": k,
                "width": size,
                "height": size,
                "camera": {"camera_to_world": look_at(pos, center).tolist(), "focal_mm": focal, "sensor_mm": sensor},
                "cycles_seed": k,
                "objects": [
                    {
                        "rig": rig,
                        "slot": 0,
                        "location": [0, 0, 0],
                        "rotation": [1, 0, 0, 0],
                        "scale": 1.0,
                        "materials": looks,
                    }
                ],
                "distractors": [],
                "lights": [
                    {
                        "type": "SUN",
                        "camera_like_matrix": look_at(
                            spherical_position((0, 0, 0), 1, 1.0, az + 0.8), (0, 0, 0)
                        ).tolist(),
                        "energy": 3.0,
                        "color": [1, 1, 1],
                        "size": 0.1,
                        "spot_size": 1.0,
                    }
                ],
                "world": {"hdri": "studio", "strength": 0.6, "rotation": 0.0},
                "background": {"kind": "color", "color": [0.35, 0.35, 0.38], "seed": 0},
            }
        )
        if rig_spec.decals:
            scenes[-1]["objects"][0]["decals"] = sample_decals(rng_for(seed, k, "decals"), rig_spec.decals)
    return scenes


def slots_line(rig: str, slots: list[str]) -> str:
    """The names that `rigs.<rig>.materials` and a decal's `slots` take, as Blender built them."""
    return f'{rig}: material slots {", ".join(slots)} (keys of rigs.{rig}.materials; "*": every slot not named)'


def preview(
    params_path: Path, rig: str, views: int, size: int, elevation: float, out: Path, blender: str | None = None
) -> Path:
    params = load_params(params_path)
    if rig not in params.rigs:
        raise ParamsError(f"{params_path}: --rig {rig!r}: expected one of {list(params.rigs)}")
    spec = make_spec(params, params_path)
    spec["rigs"] = {rig: {**spec["rigs"][rig], "instances": {"min": 1, "max": 1}}}
    spec["render"]["samples"] = max(spec["render"]["samples"], 32)
    spec["render"]["min_visible_px"] = 1
    with tempfile.TemporaryDirectory(prefix="rig2kp_preview_") as tmp:
        tmp = Path(tmp)
        (tmp / "spec.json").write_text(json.dumps(spec))
        facts = check_rigs(tmp / "spec.json", tmp / "out", blender)
        print(slots_line(rig, facts[rig]["slots"]))
        scenes = turntable_scenes(
            rig,
            typed_spec(spec).rigs[rig],
            facts[rig]["center"],
            facts[rig]["extent"],
            views,
            size,
            elevation,
            params.seed,
        )
        (tmp / "scenes.json").write_text(json.dumps(scenes))
        run_blender(
            blender,
            [
                "--spec",
                str(tmp / "spec.json"),
                "--out",
                str(tmp / "out"),
                "--scenes",
                str(tmp / "scenes.json"),
                "--merge",
            ],
        )
        coco = json.loads((tmp / "out" / "annotations.json").read_text())
        tiles, captions = [], []
        for image in coco["images"]:
            anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
            with Image.open(tmp / "out" / image["file_name"]) as im:
                tiles.append(draw_annotations(im.convert("RGB"), anns, coco["categories"], masks=False))
            captions.append(f"azimuth {360 * (image['id'] - 1) / views:.0f} deg")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{rig}.png"
    with replacing(path) as tmp:
        contact_sheet(tiles, columns=min(4, views), captions=captions, thumb=size).save(tmp, format="PNG")
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.authoring.preview",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--rig", default=None, help="rig name (default: every rig)")
    p.add_argument("--views", type=int, default=8)
    p.add_argument("--size", type=int, default=320, help="pixels per view")
    p.add_argument("--elevation", type=float, default=30.0, help="camera elevation, degrees")
    p.add_argument("--out", type=Path, default=Path("preview"))
    p.add_argument("--blender", default=None, help="a Blender binary to use instead of the bpy package")
    args = p.parse_args(argv)

    def run() -> int:
        refuse_overlap(args.out, {"params file": args.params})
        own_output(args.out, OWNER)
        rigs = [args.rig] if args.rig else list(load_params(args.params).rigs)
        for rig in rigs:
            path = preview(args.params, rig, args.views, args.size, args.elevation, args.out, args.blender)
            print(f"wrote {path}")
        return 0

    return run_command(run)


if __name__ == "__main__":
    raise SystemExit(main())
