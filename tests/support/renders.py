"""Run the real renderer (bpy package) on small params or explicit scenes, for the tests."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from pipeline.rendering.blender_runner import BLENDER_SCRIPT, make_spec
from pipeline.schema import load_params
from tests.support.params import write_params


def render_scenes(tmp_path: Path, params: dict, scenes: list[dict] | None, keep_passes: bool = True) -> Path:
    """Render `scenes` exactly (None: sampled from params) into tmp_path/out; returns that folder."""
    pfile = write_params(tmp_path / "params.yaml", params)
    spec = make_spec(load_params(pfile), pfile)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = tmp_path / "out"
    cmd = [sys.executable, str(BLENDER_SCRIPT), "--spec", str(tmp_path / "spec.json"), "--out", str(out), "--merge"]
    if scenes is not None:
        (tmp_path / "scenes.json").write_text(json.dumps(scenes))
        cmd += ["--scenes", str(tmp_path / "scenes.json")]
    if keep_passes:
        cmd.append("--keep-passes")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def base_scene(width: int, height: int, camera_to_world, focal_mm: float, sensor_mm: float = 36.0) -> dict:
    """A plain scene: one sun light, studio world, flat grey background; objects added by caller."""
    return {
        "index": 0,
        "width": width,
        "height": height,
        "camera": {
            "camera_to_world": np.asarray(camera_to_world).tolist(),
            "focal_mm": focal_mm,
            "sensor_mm": sensor_mm,
        },
        "cycles_seed": 1,
        "objects": [],
        "distractors": [],
        "lights": [
            {
                "type": "SUN",
                "camera_like_matrix": np.eye(4).tolist(),
                "energy": 3.0,
                "color": [1, 1, 1],
                "size": 0.1,
                "spot_size": 1.0,
            }
        ],
        "world": {"hdri": "studio", "strength": 0.5, "rotation": 0.0},
        "background": {"kind": "color", "color": [0.2, 0.2, 0.2], "seed": 0},
    }


def scene_object(
    rig: str, materials: dict, location=(0, 0, 0), rotation=(1, 0, 0, 0), scale: float = 1.0, slot: int = 0
) -> dict:
    """One rig instance of an explicit scene (`base_scene()["objects"]`), at the origin by default."""
    return {
        "rig": rig,
        "slot": slot,
        "location": list(location),
        "rotation": list(rotation),
        "scale": scale,
        "materials": materials,
    }


def material(rgb=(0.8, 0.8, 0.8)) -> dict:
    return {
        "color": list(rgb),
        "roughness": 0.5,
        "metallic": 0.0,
        "texture_strength": 0.0,
        "texture_scale": 10.0,
        "texture_offset": 0.0,
    }


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 encoding of linear values in [0, 1], written out here so that tests do not
    lean on blender/codecs/png.py, the code they check."""
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def objects_mask(data: dict, image: dict) -> np.ndarray:
    """Pixels covered by any annotated instance of `image` (from its RLE masks in `data`)."""
    covered = np.zeros((image["height"], image["width"]), bool)
    for a in data["annotations"]:
        if a["image_id"] == image["id"]:
            covered |= mask_utils.decode(a["segmentation"]).astype(bool)
    return covered


def layouts(tmp_path: Path, params: dict, scenes: list[dict] | None = None) -> list[dict]:
    """Each image's layout without rendering (blender/render.py --layout-only): settled poses,
    chosen view, keypoints with v, drop and view reports; one dict per image."""
    pfile = write_params(tmp_path / "params.yaml", params)
    spec = make_spec(load_params(pfile), pfile)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = tmp_path / "layout_out"
    cmd = [
        sys.executable,
        str(BLENDER_SCRIPT),
        "--spec",
        str(tmp_path / "spec.json"),
        "--out",
        str(out),
        "--layout-only",
    ]
    if scenes is not None:
        (tmp_path / "scenes.json").write_text(json.dumps(scenes))
        cmd += ["--scenes", str(tmp_path / "scenes.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [json.loads(f.read_text()) for f in sorted((out / "layout").glob("*.json"))]


def write_sphere_obj(path, radius: float, rings: int = 16, segments: int = 32) -> None:
    """A UV sphere centred on the origin, as Wavefront OBJ text (independent of Blender)."""
    lines = [f"v 0 0 {radius:f}"]
    for i in range(1, rings):
        th = math.pi * i / rings
        for j in range(segments):
            ph = 2 * math.pi * j / segments
            lines.append(
                f"v {radius * math.sin(th) * math.cos(ph):.7f} {radius * math.sin(th) * math.sin(ph):.7f} "
                f"{radius * math.cos(th):.7f}"
            )
    lines.append(f"v 0 0 {-radius:f}")
    bottom = 1 + (rings - 1) * segments + 1

    def ring(i, j):
        return 2 + (i - 1) * segments + (j % segments)

    for j in range(segments):
        lines.append(f"f 1 {ring(1, j)} {ring(1, j + 1)}")
        lines.append(f"f {bottom} {ring(rings - 1, j + 1)} {ring(rings - 1, j)}")
    for i in range(1, rings - 1):
        for j in range(segments):
            lines.append(f"f {ring(i, j)} {ring(i + 1, j)} {ring(i + 1, j + 1)} {ring(i, j + 1)}")
    path.write_text("\n".join(lines) + "\n")


def labels(out: Path) -> bytes:
    """annotations.json without its `info` (which names the params' hash): the labels alone, to compare
    renders made from params that differ in looks only."""
    data = json.loads((Path(out) / "annotations.json").read_text())
    data.pop("info", None)
    return json.dumps(data, separators=(",", ":")).encode()
