"""Kept, jittered and decal looks, and mesh distractors, on real renders, against independent computations.

- vertex colours and image textures: a camera straight above a flat mesh and a sun give each pixel
  a * albedo + b per channel (light transport is linear in albedo); a and b come from a black and a
  white tile, so every other tile's sRGB value is predicted from its known colour;
- textures land where the UVs put them: checker squares are looked up by inverting the UV map;
- decals: the footprint a hand-built ray-surface intersection predicts, against the rendered one;
- mesh distractors: the same cube as a primitive and as a mesh file gives the same labels.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from pycocotools import mask as mask_utils

from blender.optics.camera import look_at
from pipeline.rendering.blender_runner import make_spec
from pipeline.schema import load_params
from tests.support import ROOT, needs_bpy
from tests.support.mesh_writers import (
    checker,
    write_gltf_quad,
    write_obj_box,
    write_obj_cylinder,
    write_obj_quad,
    write_obj_tiles,
    write_ply_tiles,
    write_png,
)
from tests.support.params import write_params
from tests.support.renders import base_scene, material, render_scenes, srgb_encode
from tests.support.renders import labels as annotation_labels
from tests.support.specs import sampled

pytestmark = [pytest.mark.slow, needs_bpy]

W, H = 120, 80
HEIGHT = 1.0  # camera height above the mesh, metres
FOCAL, SENSOR = 400.0, 36.0  # a long lens: nearly the same view direction over the whole mesh
F_PX = FOCAL / SENSOR * W


def srgb_decode(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def pixel(x: float, y: float) -> tuple[float, float]:
    """Pinhole straight down from (0, 0, HEIGHT): image right is +x, image up is +y (pixels, continuous)."""
    return W / 2 + F_PX * x / HEIGHT, H / 2 - F_PX * y / HEIGHT


def top_down_scene(rig: str, sun_tilt_deg: float = 40.0, materials: dict | None = None) -> dict:
    c2w = np.eye(4)
    c2w[2, 3] = HEIGHT  # Blender cameras look along local -z with local +y up
    scene = base_scene(W, H, c2w, FOCAL, SENSOR)
    scene["world"]["strength"] = 0.0  # the sun alone: no environment light to average
    t = math.radians(sun_tilt_deg)
    scene["lights"][0]["camera_like_matrix"] = look_at(np.array([math.sin(t), 0.0, math.cos(t)]), np.zeros(3)).tolist()
    scene["objects"] = [
        {
            "rig": rig,
            "slot": 0,
            "location": [0, 0, 0],
            "rotation": [1, 0, 0, 0],
            "scale": 1.0,
            "materials": materials or {},
        }
    ]
    return scene


def plane_params(name: str, path: str, **rig) -> dict:
    return {
        "seed": 0,
        "rigs": {
            name: {
                "mesh": {"type": "file", "path": path},
                "keypoints": [{"name": "centre", "position": [0, 0, 0]}],
                **rig,
            }
        },
        "render": {"num_images": 1, "resolutions": [[W, H]], "samples": 16, "denoise": False, "min_visible_px": 1},
    }


def region(img: np.ndarray, x: float, y: float, half: int) -> np.ndarray:
    """Pixels within `half` of the pixel holding plane point (x, y), as N x C."""
    u, v = pixel(x, y)
    i, j = int(v), int(u)
    return img[i - half : i + half + 1, j - half : j + half + 1].reshape(-1, img.shape[-1])


def object_mask(out: Path) -> np.ndarray:
    data = json.loads((out / "annotations.json").read_text())
    (ann,) = data["annotations"]
    return mask_utils.decode(ann["segmentation"]).astype(bool)


def test_vertex_colored_ply_renders_its_face_colors(tmp_path):
    """No materials entry: a mesh that carries colour keeps it (sRGB colours of a PLY, per face)."""
    colors = [
        [(0, 0, 0), (255, 255, 255), (200, 30, 30), (240, 200, 20)],
        [(30, 180, 60), (40, 60, 220), (128, 128, 128), (90, 40, 160)],
    ]
    tile = 0.012
    write_ply_tiles(tmp_path / "tiles.ply", colors, tile)
    out = render_scenes(tmp_path, plane_params("tiles", "tiles.ply"), [top_down_scene("tiles")])
    img = np.asarray(Image.open(out / "images" / "000000.png")).astype(float) / 255
    mask = object_mask(out)
    half = int(F_PX * tile / HEIGHT / 2) - 3
    measured = {}
    for r, row in enumerate(colors):
        for c, rgb in enumerate(row):
            x, y = (c - 1.5) * tile, (0.5 - r) * tile
            u, v = pixel(x, y)
            assert mask[int(v) - half : int(v) + half + 1, int(u) - half : int(u) + half + 1].all()
            measured[rgb] = np.median(region(img, x, y, half), axis=0)
    black, white = srgb_decode(measured[(0, 0, 0)]), srgb_decode(measured[(255, 255, 255)])
    assert (white - black).min() > 0.3, "the white tile must be lit"
    for rgb, got in measured.items():
        expected = srgb_encode(black + (white - black) * srgb_decode(np.array(rgb) / 255))
        assert np.abs(got - expected).max() * 255 <= 4, (rgb, got * 255, expected * 255)


QUAD_UV = [(1, 0), (1, 1), (0, 1), (0, 0)]  # a quarter turn: u = 0.5 - y / 2h, v = 0.5 + x / 2h


SAVE_BLEND = """
import sys, bpy
obj_path, blend_path = sys.argv[-2:]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.wm.obj_import(filepath=obj_path, forward_axis="Y", up_axis="Z")
bpy.ops.wm.save_as_mainfile(filepath=blend_path, relative_remap=True)
"""


@pytest.mark.parametrize("kind", ["obj", "gltf", "blend"])
def test_image_texture_lands_where_the_uvs_put_it(tmp_path, kind):
    """OBJ+MTL, glTF PBR and .blend image textures, found beside the mesh file (not params.yaml);
    each checker square at its UV place."""
    half, squares, size = 0.024, 4, 64
    red, blue = (200, 30, 30), (30, 30, 200)
    assets = tmp_path / "assets"
    assets.mkdir()
    write_png(assets / "checker.png", checker(size, squares, dark=red, light=blue))
    if kind == "gltf":
        write_gltf_quad(assets / "quad.gltf", half, QUAD_UV, "checker.png")
    else:
        mtl = "newmtl printed\nKd 1 1 1\nKs 0 0 0\nmap_Kd checker.png\n"
        write_obj_quad(assets / "quad.obj", half, QUAD_UV, "printed", mtl=mtl)
    if kind == "blend":  # the OBJ's material, saved by Blender with a relative image path
        (tmp_path / "save.py").write_text(SAVE_BLEND)
        proc = subprocess.run(
            [sys.executable, str(tmp_path / "save.py"), str(assets / "quad.obj"), str(assets / "quad.blend")],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        (assets / "quad.obj").unlink()
    out = render_scenes(tmp_path, plane_params("quad", f"assets/quad.{kind}"), [top_down_scene("quad")])
    img = np.asarray(Image.open(out / "images" / "000000.png")).astype(int)
    cell = size // squares
    for i in range(squares):  # image row (from the top) and column of the square
        for j in range(squares):
            u, v = (j + 0.5) * cell / size, 1 - (i + 0.5) * cell / size
            x, y = (v - 0.5) * 2 * half, (0.5 - u) * 2 * half
            px = np.median(region(img, x, y, 1), axis=0)
            expected_red = (i + j) % 2 == 0
            assert (px[0] > px[2] + 60) == expected_red and (px[2] > px[0] + 60) != expected_red, (i, j, px)


def test_identity_jitter_and_zero_wear_leave_the_kept_look_and_wear_changes_colors_only(tmp_path):
    """jitter at its identity (no shift, scales 1, offsets 0, no wear) renders what keep renders; wear
    changes pixels of the object and nothing in the labels."""
    assets = tmp_path / "assets"
    assets.mkdir()
    write_png(assets / "checker.png", checker(64, 4, dark=(200, 30, 30), light=(30, 30, 200)))
    write_obj_quad(
        assets / "quad.obj", 0.024, QUAD_UV, "printed", mtl="newmtl printed\nKd 1 1 1\nNs 200\nmap_Kd checker.png\n"
    )
    identity = {
        "mode": "jitter",
        "hue_shift": 0,
        "saturation_scale": 1,
        "value_scale": 1,
        "roughness_offset": 0,
        "metallic_offset": 0,
        "specular_offset": 0,
    }
    worn = {**identity, "wear": {"dust": 0.6, "smudges": 0.6, "scratches": 0.8, "size": 0.006}}
    images, labels = [], []
    for name, look in (("keep", None), ("identity", identity), ("worn", worn)):
        sub = tmp_path / name
        sub.mkdir()
        rig = {"materials": {"printed": "keep" if look is None else {k: v for k, v in look.items() if k != "wear"}}}
        if name == "worn":
            rig["materials"]["printed"]["wear"] = {k: [v, v] for k, v in worn["wear"].items()}
        values = (
            {}
            if look is None
            else {"printed": {**look, "wear": {**worn["wear"], "offset": [1.0, 2.0, 3.0]}} if name == "worn" else look}
        )
        out = render_scenes(
            sub, plane_params("quad", str(assets / "quad.obj"), **rig), [top_down_scene("quad", materials=values)]
        )
        images.append(np.asarray(Image.open(out / "images" / "000000.png")).astype(int))
        labels.append(annotation_labels(out))
    assert np.abs(images[1] - images[0]).max() <= 1
    assert labels[0] == labels[1] == labels[2]
    changed = np.abs(images[2] - images[0]).max(axis=2) > 8
    mask = object_mask(tmp_path / "keep" / "out")
    assert changed[mask].mean() > 0.05 and not changed[~mask].any()


TILES_MTL = "newmtl ref\nKd 1 1 1\nKs 0 0 0\nnewmtl paint\nKd 0.8 0.3 0.1\nKs 0 0 0\n"
JITTER = {
    "mode": "jitter",
    "hue_shift": [0.1, 0.15],
    "saturation_scale": [0.4, 0.6],
    "value_scale": [0.5, 0.7],
    "roughness_offset": 0,
    "specular_offset": 0,
}


def jitter_params(n: int, shard_size: int) -> dict:
    """A white tile (kept) beside a painted one (jittered), lit by one white sun only, seen from above."""
    return {
        "seed": 3,
        "rigs": {
            "tiles": {
                "mesh": {"type": "file", "path": "tiles.obj"},
                "keypoints": [{"name": "centre", "position": [0, 0, 0]}],
                "pose": {"mode": "upright", "tilt_deg": 0},
                "materials": {"ref": "keep", "paint": JITTER},
            }
        },
        "render": {
            "num_images": n,
            "resolutions": [[96, 96]],
            "samples": 8,
            "denoise": False,
            "min_visible_px": 1,
            "shard_size": shard_size,
            "workers": 1,
            "camera": {
                "distance": [0.25, 0.3],
                "elevation_deg": [75, 90],
                "roll_deg": [0, 0],
                "focal_mm": [50, 50],
                "look_jitter": 0,
            },
            "lights": {
                "count": [1, 1],
                "types": ["SUN"],
                "sun_strength": [3, 3],
                "saturation": [0, 0],
                "world_strength": [0, 0],
            },
            "placement": {"spread": 0, "height": [0, 0]},
            "distractors": {"count": [0, 0]},
            "background": {"hdri": 0, "procedural": 1},
        },
    }


def render_dataset(tmp_path: Path, params: dict, name: str) -> Path:
    pfile = write_params(tmp_path / f"{name}.yaml", params)
    out = tmp_path / name
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.rendering.render_dataset", "--params", str(pfile), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def file_hashes(out: Path) -> dict:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.suffix in (".png", ".json") and p.name != "spec.json"
    }


def test_jitter_stays_in_its_ranges_on_the_pixels_and_repeats_byte_for_byte(tmp_path):
    tile = 0.03
    write_obj_tiles(tmp_path / "tiles.obj", [("ref", 1.0), ("paint", 1.0)], tile, TILES_MTL)
    one = render_dataset(tmp_path, jitter_params(4, 4), "one_shard")
    four = render_dataset(tmp_path, jitter_params(4, 1), "four_shards")
    assert file_hashes(one) == file_hashes(four)  # same bytes from one process or four

    h0, s0, v0 = colorsys.rgb_to_hsv(0.8, 0.3, 0.1)  # the paint's linear Kd, as the HSV node sees it
    spec = json.loads((one / "spec.json").read_text())
    seen = []
    for i in range(4):
        drawn = sampled(spec, i, {"tiles": 0.05})["objects"][0]["materials"]["paint"]
        meta = json.loads((one / "meta" / f"{i:06d}.json").read_text())
        K, w2c = np.array(meta["camera"]["K"]), np.array(meta["camera"]["world_to_camera"])
        m = np.array(meta["objects"][0]["object_to_world"])
        img = srgb_decode(np.asarray(Image.open(one / "images" / f"{i:06d}.png")).astype(float) / 255)
        centres = {}
        for name, x in (("ref", -tile / 2), ("paint", tile / 2)):
            cam = w2c @ m @ np.array([x, 0, 0, 1.0])
            u, v = (K @ cam[:3])[:2] / cam[2]
            centres[name] = np.median(img[int(v) - 2 : int(v) + 3, int(u) - 2 : int(u) + 3].reshape(-1, 3), axis=0)
        albedo = centres["paint"] / centres["ref"]  # the white tile's albedo is 1: per channel, light divides out
        h, s, v = colorsys.rgb_to_hsv(*albedo)
        shift, sat, val = (h - h0 + 0.5) % 1.0 - 0.5, s / s0, v / v0
        assert 0.1 - 0.01 <= shift <= 0.15 + 0.01, (i, shift)
        assert 0.4 - 0.03 <= sat <= 0.6 + 0.03, (i, sat)
        assert 0.5 - 0.03 <= val <= 0.7 + 0.03, (i, val)
        # and they are the values drawn for this image (seed, index), as the pure sampler gives them
        assert abs(shift - drawn["hue_shift"]) < 0.01 and abs(sat - drawn["saturation_scale"]) < 0.02
        assert abs(val - drawn["value_scale"]) < 0.02
        seen.append((shift, sat, val))
    assert np.ptp(np.array(seen), axis=0).min() > 0.005, "jitter must vary from image to image"


# ---------------------------------------------------------------- decals


def decal_png(path: Path, width: int = 40, height: int = 20) -> None:
    """An opaque green rectangle inside a transparent 1-pixel border (alpha decides the footprint)."""
    rgba = np.zeros((height + 2, width + 2, 4), np.uint8)
    rgba[1:-1, 1:-1] = (0, 255, 0, 255)
    write_png(path, rgba)


def footprint(img: np.ndarray) -> np.ndarray:
    img = img.astype(int)
    return (img[..., 1] > img[..., 0] + 60) & (img[..., 1] > img[..., 2] + 60)


def expected_footprint(surface_point, to_decal) -> np.ndarray:
    """Pixels whose centre ray meets the surface inside the decal: `surface_point(u, v)` gives the object
    point seen at pixel centre (u, v) (or None), `to_decal(p)` its decal coordinates, in [-0.5, 0.5]^2 inside."""
    out = np.zeros((H, W), bool)
    for i in range(H):
        for j in range(W):
            p = surface_point(j + 0.5, i + 0.5)
            if p is not None:
                s, t = to_decal(p)
                out[i, j] = abs(s) <= 0.5 and abs(t) <= 0.5
    return out


def decal_frame(s: float, t: float, place: dict) -> tuple[float, float]:
    """Decal-plane coordinates (s, t) to the image's own: centred, turned back by its rotation, sized."""
    ds, dt = s - place["u"], t - place["v"]
    c, sn = math.cos(place["rotation"]), math.sin(place["rotation"])
    return (c * ds + sn * dt) / place["width"], (-sn * ds + c * dt) / place["height"]


def plane_point(u: float, v: float):
    """Where the top-down camera's ray through pixel (u, v) meets z = 0."""
    return np.array([(u - W / 2) * HEIGHT / F_PX, (H / 2 - v) * HEIGHT / F_PX, 0.0])


def compare_footprints(got: np.ndarray, want: np.ndarray) -> None:
    assert want.sum() > 150, "the decal must cover enough pixels to judge"
    iou = (got & want).sum() / (got | want).sum()
    assert iou > 0.85, iou
    centroid = [np.argwhere(m).mean(axis=0) for m in (got, want)]
    assert np.abs(centroid[0] - centroid[1]).max() < 0.6, centroid


def test_planar_and_uv_decals_print_where_their_placement_says(tmp_path):
    decal_png(tmp_path / "label.png")
    write_obj_quad(tmp_path / "quad.obj", 0.03, QUAD_UV, None)
    place = {"shown": True, "u": 0.006, "v": -0.004, "width": 0.03, "height": 0.015, "rotation": math.radians(30)}
    uv_place = {"shown": True, "u": 0.4, "v": 0.6, "width": 0.5, "height": 0.25, "rotation": math.radians(-20)}
    decals = [
        {"image": "label.png", "projection": "planar", "axis": "+z", "width": 0.03},
        {"image": "label.png", "projection": "uv", "width": 0.5},
    ]
    for decal, pl in zip(decals, (place, uv_place)):
        params = plane_params("quad", "quad.obj", decals=[decal])
        scene = top_down_scene("quad")
        scene["objects"][0]["decals"] = [pl]
        sub = tmp_path / decal["projection"]
        sub.mkdir()
        for f in ("label.png", "quad.obj"):
            (sub / f).write_bytes((tmp_path / f).read_bytes())
        out = render_scenes(sub, params, [scene])
        got = footprint(np.asarray(Image.open(out / "images" / "000000.png")))
        if decal["projection"] == "planar":
            want = expected_footprint(plane_point, lambda p, pl=pl: decal_frame(p[0], p[1], pl))
        else:  # the quad's UV map, inverted: u = 0.5 - y / 2h, v = 0.5 + x / 2h

            def to_uv(p, pl=pl):
                return decal_frame(0.5 - p[1] / 0.06, 0.5 + p[0] / 0.06, pl)

            want = expected_footprint(plane_point, to_uv)
        compare_footprints(got, want)

        # the decal changes colours only: keypoints, visibility, boxes and masks stay byte for byte
        (sub / "plain").mkdir()
        plain = render_scenes(
            sub / "plain",
            plane_params("quad", str(sub / "quad.obj")),
            [{**scene, "objects": [{k: v for k, v in scene["objects"][0].items() if k != "decals"}]}],
        )
        assert annotation_labels(plain) == annotation_labels(out)
        assert not footprint(np.asarray(Image.open(plain / "images" / "000000.png"))).any()


def test_cylinder_decal_wraps_around_its_axis(tmp_path):
    """A camera beside a cylinder along x: the decal centred 30 degrees around from +y toward +z."""
    radius = 0.015
    decal_png(tmp_path / "label.png")
    write_obj_cylinder(tmp_path / "can.obj", radius, 0.06)
    decal = {"image": "label.png", "projection": "cylinder", "axis": "+x", "radius": radius, "width": 0.03}
    place = {"shown": True, "u": 30.0, "v": 0.005, "width": 0.03, "height": 0.012, "rotation": math.radians(10)}
    cam = np.array([0.0, HEIGHT, 0.0])
    c2w = look_at(cam, np.zeros(3))
    scene = top_down_scene("can")
    scene["camera"]["camera_to_world"] = np.asarray(c2w).tolist()
    scene["lights"][0]["camera_like_matrix"] = look_at(
        np.array([0.0, 1.0, 0.2]), np.zeros(3)
    ).tolist()  # from the camera
    scene["objects"][0]["decals"] = [place]
    out = render_scenes(tmp_path, plane_params("can", "can.obj", decals=[decal]), [scene])
    got = footprint(np.asarray(Image.open(out / "images" / "000000.png")))

    R = np.asarray(c2w)[:3, :3]  # camera axes in world: columns right, up, backward

    def cylinder_point(u, v):
        d = R @ np.array([(u - W / 2) / F_PX, (H / 2 - v) / F_PX, -1.0])
        # |(cam + s d)_yz| = radius, nearest s
        a = d[1] ** 2 + d[2] ** 2
        b = 2 * (cam[1] * d[1] + cam[2] * d[2])
        c = cam[1] ** 2 + cam[2] ** 2 - radius**2
        disc = b * b - 4 * a * c
        if disc < 0:
            return None
        p = cam + (-b - math.sqrt(disc)) / (2 * a) * d
        return p if abs(p[0]) < 0.03 else None

    def to_decal(p):
        angle = math.atan2(p[2], p[1])  # from +y toward +z
        around = (angle - math.radians(place["u"]) + math.pi) % (2 * math.pi) - math.pi
        return decal_frame(around * radius, p[0], {**place, "u": 0.0})

    compare_footprints(got, expected_footprint(cylinder_point, to_decal))


def test_sampled_decals_appear_at_their_sampled_place(tmp_path):
    """Sampled renders: each image's decal footprint is where (seed, index) placed it, seen through the
    image's own camera (meta K and world_to_camera) on the plane at its own pose."""
    decal_png(tmp_path / "label.png")
    write_obj_quad(tmp_path / "quad.obj", 0.03, QUAD_UV, None)
    params = {
        "seed": 5,
        "rigs": {
            "quad": {
                "mesh": {"type": "file", "path": "quad.obj"},
                "keypoints": [{"name": "centre", "position": [0, 0, 0]}],
                "pose": {"mode": "upright", "tilt_deg": 0},
                "decals": [
                    {
                        "image": "label.png",
                        "axis": "+z",
                        "u": [-0.01, 0.01],
                        "v": [-0.005, 0.005],
                        "width": [0.02, 0.03],
                        "rotation_deg": [-45, 45],
                    }
                ],
            }
        },
        "render": {
            "num_images": 3,
            "resolutions": [[96, 96]],
            "samples": 8,
            "denoise": False,
            "min_visible_px": 1,
            "camera": {"distance": [0.2, 0.25], "elevation_deg": [70, 90], "focal_mm": [50, 50], "look_jitter": 0},
            "lights": {"count": [1, 1], "types": ["SUN"], "sun_strength": [3, 3]},
            "placement": {"spread": 0, "height": [0, 0]},
            "distractors": {"count": [0, 0]},
            "background": {"hdri": 0, "procedural": 1},
        },
    }
    out = render_dataset(tmp_path, params, "out")
    spec = json.loads((out / "spec.json").read_text())
    data = json.loads((out / "annotations.json").read_text())
    radius = math.hypot(0.03, 0.03)  # the quad's farthest vertex from its origin
    for i in range(3):
        place = sampled(spec, i, {"quad": radius})["objects"][0]["decals"][0]
        assert place["shown"] and 0.02 <= place["width"] <= 0.03
        meta = json.loads((out / "meta" / f"{i:06d}.json").read_text())
        K, w2c = np.array(meta["camera"]["K"]), np.array(meta["camera"]["world_to_camera"])
        o2w = np.array(meta["objects"][0]["object_to_world"])
        cam_in_obj = np.linalg.inv(w2c @ o2w)  # OpenCV camera -> object space

        def plane_hit(u, v, cam_in_obj=cam_in_obj, K=K):
            d = cam_in_obj[:3, :3] @ np.linalg.solve(K, np.array([u, v, 1.0]))
            o = cam_in_obj[:3, 3]
            if abs(d[2]) < 1e-12:
                return None
            p = o - o[2] / d[2] * d
            return p if abs(p[0]) <= 0.03 and abs(p[1]) <= 0.03 else None

        want = np.zeros((96, 96), bool)
        for r in range(96):
            for c in range(96):
                p = plane_hit(c + 0.5, r + 0.5)
                if p is not None:
                    s, t = decal_frame(p[0], p[1], place)
                    want[r, c] = abs(s) <= 0.5 and abs(t) <= 0.5
        (ann,) = [a for a in data["annotations"] if a["image_id"] == i + 1]
        mask = mask_utils.decode(ann["segmentation"]).astype(bool)
        got = footprint(np.asarray(Image.open(out / "images" / f"{i:06d}.png"))) & mask
        assert want.sum() > 60
        iou = (got & want).sum() / (got | want).sum()
        assert iou > 0.8, (i, iou)


def test_a_mesh_distractor_hides_keypoints_exactly_as_the_same_primitive_does(tmp_path):
    """A box rig's top-centre keypoint under a small cube: seen (v=2) without it, hidden (v=1) under the
    primitive cube and under the same cube read from a mesh file, whose labels are byte for byte the same."""
    write_obj_box(tmp_path / "part.obj", (0.02, 0.02, 0.01))
    (tmp_path / "clutter").mkdir()
    write_obj_box(tmp_path / "clutter" / "cube.obj", (0.05, 0.05, 0.05))  # any size: scaled to mesh_size
    params = plane_params("part", "part.obj")
    params["rigs"]["part"]["keypoints"] = [{"name": "top", "position": [0, 0, 0.005]}]
    params["render"]["num_images"] = 3
    params["render"]["distractors"] = {"count": [1, 1], "meshes": {"paths": ["clutter"], "materials": "replace"}}
    plain = top_down_scene("part")
    cube = {
        "shape": "cube",
        "location": [0.0, 0.0, 0.3],
        "rotation": [0.92388, 0.0, 0.0, 0.38268],
        "size": 0.006,
        "material": material((0.9, 0.1, 0.1)),
    }
    as_mesh = {**cube, "mesh": 0, "mesh_size": 0.006, "mesh_material": material((0.1, 0.1, 0.9))}
    scenes = [{**plain, "index": i, "distractors": d} for i, d in enumerate(([], [cube], [as_mesh]))]
    out = render_scenes(tmp_path, params, scenes)
    data = json.loads((out / "annotations.json").read_text())
    anns = {a["image_id"]: a for a in data["annotations"]}
    assert [anns[i]["keypoints"][2] for i in (1, 2, 3)] == [2, 1, 1]
    strip = ("id", "image_id")
    assert {k: v for k, v in anns[2].items() if k not in strip} == {k: v for k, v in anns[3].items() if k not in strip}
    assert anns[2]["area"] < anns[1]["area"]  # the cube hides part of the box in both
    img = [np.asarray(Image.open(out / "images" / f"{i:06d}.png")).astype(int) for i in (1, 2)]
    u, v = pixel(0.0, 0.0)
    assert img[0][int(v), int(u), 0] > img[0][int(v), int(u), 2] + 60  # red primitive
    assert img[1][int(v), int(u), 2] > img[1][int(v), int(u), 0] + 60  # blue mesh, same place


@pytest.mark.parametrize(
    "case",
    [
        "missing_texture",
        "unreadable_texture",
        "keep_colourless",
        "decal_slot",
        "jitter_slot",
        "uv_decal_without_uvs",
        "distractor_keep_colourless",
        "distractor_unreadable_mesh",
    ],
)
def test_bad_looks_are_one_line_errors_naming_the_key_before_rendering(tmp_path, case):
    from pipeline.rendering.blender_runner import RenderError, check_rigs

    rig: dict = {}
    mesh = "thing.obj"
    render: dict = {"num_images": 1}
    if case in ("missing_texture", "unreadable_texture"):
        write_obj_quad(
            tmp_path / "thing.obj", 0.02, QUAD_UV, "printed", mtl="newmtl printed\nKd 1 1 1\nmap_Kd skin.png\n"
        )
        if case == "unreadable_texture":
            (tmp_path / "skin.png").write_bytes(b"not an image at all")
        key, words = "rigs.thing.mesh.path", ("not found" if case == "missing_texture" else "cannot read")
    else:
        write_obj_quad(tmp_path / "thing.obj", 0.02, QUAD_UV, None)
        if case == "uv_decal_without_uvs":
            write_obj_box(tmp_path / "thing.obj", (0.02, 0.02, 0.02))
        decal_png(tmp_path / "label.png")
        if case == "keep_colourless":
            rig["materials"] = {"*": "keep"}
            key, words = "rigs.thing.materials.*", "neither"
        elif case == "decal_slot":
            rig["decals"] = [{"image": "label.png", "slots": ["lid"], "width": 0.01}]
            key, words = "rigs.thing.decals[0].slots", "no material slot 'lid'"
        elif case == "jitter_slot":
            rig["materials"] = {"lid": "jitter"}
            key, words = "rigs.thing.materials.lid", "no material slot 'lid'"
        elif case == "uv_decal_without_uvs":
            rig["decals"] = [{"image": "label.png", "projection": "uv", "width": 0.5}]
            key, words = "rigs.thing.decals[0].projection", "UV map"
        elif case == "distractor_keep_colourless":
            (tmp_path / "clutter").mkdir()
            write_obj_box(tmp_path / "clutter" / "cube.obj", (0.02, 0.02, 0.02))
            render["distractors"] = {"meshes": {"paths": ["clutter"]}}
            key, words = "render.distractors.meshes.materials", "neither"
        else:
            (tmp_path / "broken.glb").write_bytes(b"glTF\x02\x00\x00\x00not a whole file")
            render["distractors"] = {"meshes": {"paths": ["broken.glb"]}}
            key, words = "render.distractors.meshes.paths", "could not import"
    params = plane_params("thing", mesh, **rig)
    params["render"].update(render)
    pfile = write_params(tmp_path / "params.yaml", params)
    spec = make_spec(load_params(pfile), pfile)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(RenderError) as err:
        check_rigs(tmp_path / "spec.json", tmp_path / "out", None)
    errors = str(err.value).splitlines()  # Blender's `error:` lines are the message
    assert len(errors) == 1 and key in errors[0] and words in errors[0], str(err.value)


def test_the_textured_example_passes_the_rig_check():
    """Its textures are found beside the mesh, its decal and clutter load, its logo keypoint sits on the label."""
    from pipeline.rendering.blender_runner import check_rigs

    path = ROOT / "examples" / "textured" / "params.yaml"
    spec = make_spec(load_params(path), path)
    assert len(spec["render"]["distractors"]["meshes"]["files"]) == 5
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "spec.json").write_text(json.dumps(spec))
        facts = check_rigs(Path(tmp) / "spec.json", Path(tmp) / "out", None)
    assert facts["can"]["slots"] == ["label", "lid"]
    assert facts["can"]["keypoints_local"][2] == pytest.approx([0.033, 0, 0.055])


def test_every_look_renders_the_same_bytes_in_one_shard_or_four(tmp_path):
    """examples/textured (kept lid, jittered and worn label, a sticker decal, clutter meshes jittered):
    four thumbnails from one process and from four give the same PNG, meta and annotation bytes."""
    data = yaml.safe_load((ROOT / "examples" / "textured" / "params.yaml").read_text())
    data["rigs"]["can"]["mesh"]["path"] = str(ROOT / "examples" / "textured" / "can.obj")
    data["rigs"]["can"]["decals"][0]["image"] = str(ROOT / "examples" / "textured" / "sticker.png")
    data["rigs"]["can"]["decals"][0]["probability"] = 0.8
    data["render"]["distractors"]["meshes"]["paths"] = [str(ROOT / "examples" / "textured" / "clutter")]
    data["render"].update(
        {"num_images": 4, "resolutions": [[64, 64]], "samples": 4, "denoise": False, "workers": 1, "min_visible_px": 4}
    )
    one = render_dataset(tmp_path, {**data, "render": {**data["render"], "shard_size": 4}}, "one")
    four = render_dataset(tmp_path, {**data, "render": {**data["render"], "shard_size": 1}}, "four")
    assert file_hashes(one) == file_hashes(four) and len(file_hashes(one)) == 10  # 4 PNG, 4 meta, 2 JSON
    spec = json.loads((one / "spec.json").read_text())
    drawn = [sampled(spec, i, {"can": 0.1}) for i in range(4)]
    assert any("mesh" in d for s in drawn for d in s["distractors"])  # the case covers mesh distractors
