"""Real renders checked against computations that do not reuse the renderer's code.

- a small sphere's rendered coverage (Cycles' own camera rays) is centred on its annotated keypoint;
- a hand-built pinhole gives the annotated corner pixels of a known cube;
- a known occluder, self-occlusion, the frame edge and the camera plane give v = 1, 1, 0, 0.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from blender.codecs.exr import find_channel, read_exr
from blender.optics.camera import look_at
from blender.random_draws import axis_angle, quat_multiply
from tests.support import needs_bpy
from tests.support.renders import base_scene, material, render_scenes, scene_object, write_sphere_obj

pytestmark = [pytest.mark.slow, needs_bpy]


def test_marker_sphere_is_centred_on_its_keypoint(tmp_path):
    """Aspect ratios (landscape, portrait, square), focal lengths 24-70 mm, camera roll."""
    write_sphere_obj(tmp_path / "marker.obj", 0.004)
    params = {
        "seed": 4,  # draws all three image shapes in six images
        "rigs": {
            "marker": {
                "mesh": {"type": "file", "path": "marker.obj"},
                "keypoints": [{"name": "centre", "position": [0, 0, 0]}],
            }
        },
        "render": {
            "num_images": 6,
            "resolutions": [[96, 64], [64, 96], [90, 90]],
            "samples": 48,
            "denoise": False,
            "min_visible_px": 1,
            "camera": {"distance": [0.12, 0.22], "focal_mm": [24, 70], "roll_deg": [-40, 40], "look_jitter": 0.01},
            "placement": {"spread": 0.02, "height": [0.0, 0.01]},
            "distractors": {"count": [0, 0]},
            "background": {"hdri": 0, "procedural": 1},
        },
    }
    out = render_scenes(tmp_path, params, None)
    coco = json.loads((out / "annotations.json").read_text())
    errors, shapes = [], set()
    for image in coco["images"]:
        anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        assert len(anns) == 1
        x, y, v = anns[0]["keypoints"]
        alpha = find_channel(read_exr(out / "passes" / f"{image['id'] - 1:06d}.exr"), ("Combined",), "A")
        assert alpha.shape == (image["height"], image["width"])
        if v == 0 or alpha[0].any() or alpha[-1].any() or alpha[:, 0].any() or alpha[:, -1].any():
            continue  # the marker is cut by the frame edge: its centroid is biased
        rows, cols = np.mgrid[0 : alpha.shape[0], 0 : alpha.shape[1]] + 0.5  # pixel centres
        cx, cy = (alpha * cols).sum() / alpha.sum(), (alpha * rows).sum() / alpha.sum()
        errors.append(math.hypot(cx - x, cy - y))
        shapes.add((image["width"], image["height"]))
    assert len(errors) >= 4, "too few markers fully inside the frame to judge"
    assert len(shapes) == 3
    assert max(errors) < 0.5, errors
    assert np.mean(errors) < 0.25, errors


def pinhole(points, width: int, focal_mm: float, sensor_mm: float, height: int):
    """Camera at (0, -0.6, 0) looking along +y, z up: the textbook projection written out."""
    f = focal_mm / sensor_mm * width
    out = []
    for x, y, z in points:
        depth = y + 0.6
        out.append((width / 2 + f * x / depth, height / 2 - f * z / depth))
    return np.array(out)


def look_along_y() -> np.ndarray:
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = (1, 0, 0), (0, 0, 1), (0, -1, 0), (0, -0.6, 0)
    return m


def test_known_scene_visibility_and_corner_pixels(tmp_path):
    corners = {
        f"{lr}_{bt}_{fb}": (
            (-0.05 if lr == "left" else 0.05),
            (-0.05 if fb == "front" else 0.05),
            (-0.05 if bt == "bottom" else 0.05),
        )
        for lr in ("left", "right")
        for bt in ("bottom", "top")
        for fb in ("front", "back")
    }
    box_keypoints = [{"name": n, "vertex_group": n} for n in corners]
    box_keypoints += [
        {"name": "beside", "position": [0.5, 0, 0]},  # outside the frame
        {"name": "behind", "position": [0, -1.0, 0]},
    ]  # behind the camera, on its axis
    params = {
        "seed": 0,
        "rigs": {
            "box": {"mesh": {"type": "box", "size": [0.1, 0.1, 0.1]}, "keypoints": box_keypoints},
            "glue_tube": {
                "mesh": {"type": "glue_tube"},
                "keypoints": [{"name": "head", "vertex_group": "head"}, {"name": "tail", "vertex_group": "tail"}],
            },
        },
        "render": {
            "samples": 4,
            "denoise": False,
            "min_visible_px": 20,
            "distractors": {"count": [1, 1]},
            "lights": {"count": [1, 1]},
        },
    }
    W, H, F = 160, 120, 35.0
    scene = base_scene(W, H, look_along_y(), F)
    grey = {"*": material()}
    tube_mats = {"*": material((0.9, 0.7, 0.1))}
    scene["objects"] = [
        {"rig": "box", "slot": 0, "location": [0, 0, 0], "rotation": [1, 0, 0, 0], "scale": 1.0, "materials": grey},
        # tube turned -45 deg about z so its cap faces the camera: head at (0.1536, -0.1336, 0)
        {
            "rig": "glue_tube",
            "slot": 0,
            "location": [0.12, -0.1, 0],
            "rotation": [math.cos(math.pi / 8), 0, 0, -math.sin(math.pi / 8)],
            "scale": 1.0,
            "materials": tube_mats,
        },
    ]
    r = 0.0475 * math.sqrt(0.5)
    head, tail = (0.12 + r, -0.1 - r, 0.0), (0.12 - r, -0.1 + r, 0.0)
    unoccluded = json.loads(json.dumps(scene))
    # A 1.2 cm cube half-way along the ray from the camera to the tube's head.
    scene["distractors"] = [
        {
            "shape": "cube",
            "location": [head[0] / 2, (head[1] - 0.6) / 2, 0.0],
            "rotation": [1, 0, 0, 0],
            "size": 0.012,
            "material": material((0.1, 0.3, 0.9)),
        }
    ]
    out = render_scenes(tmp_path, params, [scene, unoccluded])
    coco = json.loads((out / "annotations.json").read_text())
    cats = {c["name"]: c for c in coco["categories"]}
    anns = {(a["image_id"], a["category_id"]): a for a in coco["annotations"]}
    box = anns[(1, cats["box"]["id"])]
    kp = np.array(box["keypoints"]).reshape(-1, 3)
    names = cats["box"]["keypoints"]
    v = dict(zip(names, kp[:, 2].astype(int)))
    for n in corners:
        assert v[n] == (2 if n.endswith("front") else 1), (n, v[n])  # face-on: far corners hidden
    assert v["beside"] == 0 and v["behind"] == 0
    assert kp[names.index("beside"), :2].tolist() == [0, 0] and kp[names.index("behind"), :2].tolist() == [0, 0]
    expected = pinhole([corners[n] for n in corners], W, F, 36.0, H)
    got = kp[[names.index(n) for n in corners], :2]
    assert np.abs(got - expected).max() < 1e-3

    occluded, clear = anns[(1, cats["glue_tube"]["id"])], anns[(2, cats["glue_tube"]["id"])]
    expected = pinhole([head, tail], W, F, 36.0, H)
    for tube in (occluded, clear):
        (hx, hy, _), (tx, ty, _) = np.array(tube["keypoints"]).reshape(-1, 3)
        assert np.abs(np.array([[hx, hy], [tx, ty]]) - expected).max() < 1e-3
    assert occluded["keypoints"][2] == 1  # the distractor hides the head...
    assert clear["keypoints"][2] == 2  # ...which is seen once the distractor is gone
    # The box's mask: the front face (a square of known size) plus nothing else.
    half = 35.0 / 36.0 * W * 0.05 / 0.55
    x0, y0, w, h = box["bbox"]
    assert abs(x0 - (W / 2 - half)) <= 1 and abs(w - 2 * half) <= 2 and abs(h - 2 * half) <= 2
    assert abs(box["area"] - (2 * half) ** 2) < 0.08 * (2 * half) ** 2


def test_glue_tube_parts_take_their_own_materials(tmp_path):
    """Body, printed label and cap are separate material slots: each shows its own colour."""
    params = {
        "rigs": {
            "glue_tube": {
                "mesh": {"type": "glue_tube"},
                "keypoints": [{"name": "head", "vertex_group": "head"}, {"name": "tail", "vertex_group": "tail"}],
                "materials": {"body": {}, "label": {}, "cap": {}},
            }
        },
        "render": {"samples": 8, "denoise": False, "distractors": {"count": [0, 0]}},
    }
    cam = look_along_y()
    cam[:3, 3] = (0, -0.25, 0)
    scene = base_scene(200, 80, cam, 50.0)
    scene["lights"] = []
    scene["world"]["strength"] = 1.0
    colors = {"body": (0.8, 0.6, 0.0), "label": (0.0, 0.1, 0.8), "cap": (0.01, 0.01, 0.01)}
    scene["objects"] = [scene_object("glue_tube", {k: material(c) for k, c in colors.items()})]
    out = render_scenes(tmp_path, params, [scene], keep_passes=False)
    coco = json.loads((out / "annotations.json").read_text())
    (hx, hy, _), (tx, ty, _) = np.array(coco["annotations"][0]["keypoints"]).reshape(-1, 3)
    rgb = np.asarray(Image.open(out / "images" / "000000.png")).astype(float)

    def color_at(t):  # fraction of the way from tail to head, along the tube's axis
        x, y = tx + t * (hx - tx), ty + t * (hy - ty)
        return rgb[int(y) - 1 : int(y) + 2, int(x) - 1 : int(x) + 2].reshape(-1, 3).mean(axis=0)

    body, label, cap = color_at(0.18), color_at(0.5), color_at(0.92)
    assert body[0] > body[2] + 60 and body[1] > body[2] + 40  # yellow
    assert label[2] > label[0] + 60  # blue
    assert cap.max() < 0.6 * body.max()  # black (with a highlight at most)


def test_label_pictograms_print_white_and_red_diamonds_on_the_top_face(tmp_path):
    """`pictograms: true` puts hazard diamonds on the label's +z face; without it the label is plain."""

    def render(pictograms: bool, sub: str) -> tuple[np.ndarray, np.ndarray]:
        params = {
            "rigs": {
                "glue_tube": {
                    "mesh": {"type": "glue_tube"},
                    "keypoints": [{"name": "head", "vertex_group": "head"}, {"name": "tail", "vertex_group": "tail"}],
                    "materials": {"body": {}, "label": {"pictograms": pictograms}, "cap": {}},
                }
            },
            "render": {"samples": 8, "denoise": False, "distractors": {"count": [0, 0]}},
        }
        scene = base_scene(240, 80, look_at((0, 0, 0.2), (0, 0, 0)), 50.0)
        scene["lights"], scene["world"]["strength"] = [], 1.0
        colors = {"body": (0.8, 0.6, 0.0), "label": (0.0, 0.1, 0.8), "cap": (0.01, 0.01, 0.01)}
        scene["objects"] = [scene_object("glue_tube", {k: material(c) for k, c in colors.items()})]
        (tmp_path / sub).mkdir()
        out = render_scenes(tmp_path / sub, params, [scene], keep_passes=False)
        kps = json.loads((out / "annotations.json").read_text())["annotations"][0]["keypoints"]
        (hx, hy, _), (tx, ty, _) = np.array(kps).reshape(-1, 3)
        rgb = np.asarray(Image.open(out / "images" / "000000.png")).astype(float)
        ts = np.linspace(0.3, 0.75, 60)  # along the axis, over the label band
        return rgb[(ty + ts * (hy - ty)).astype(int), (tx + ts * (hx - tx)).astype(int)], rgb

    printed, _ = render(True, "printed")
    plain, _ = render(False, "plain")

    def white(px):
        return (px.min(axis=1) > 140) & (np.ptp(px, axis=1) < 60)

    def red(px):
        return (px[:, 0] > px[:, 1] + 60) & (px[:, 0] > px[:, 2] + 60)

    assert white(printed).sum() >= 6 and red(printed).sum() >= 2  # diamonds with a red edge
    assert white(plain).sum() == 0 and red(plain).sum() == 0  # the blue label alone
    assert (plain[:, 2] > plain[:, 0] + 60).mean() > 0.8


def test_a_cube_seen_from_two_symmetric_poses_gets_the_same_labels(tmp_path):
    """The cube turned by a quarter turn about its own z looks the same: with its rotation group
    declared, both renders write the same keypoints in the same order (and the same pixels)."""
    corners = [f"{lr}_{bt}_{fb}" for lr in ("left", "right") for bt in ("bottom", "top") for fb in ("front", "back")]
    params = {
        "rigs": {
            "cube": {
                "mesh": {"type": "box", "size": [0.08, 0.08, 0.08]},
                "keypoints": [{"name": n, "vertex_group": n} for n in corners],
                "symmetry": {"rotations": [{"axis": "z", "order": 4}, {"axis": "x", "order": 4}]},
            }
        },
        "render": {"samples": 4, "denoise": False, "min_visible_px": 20},
    }
    pose = axis_angle((0.3, -0.5, 0.8), 0.7)
    scenes = []
    for turn in (axis_angle((0, 0, 1), 0.0), axis_angle((0, 0, 1), math.pi / 2)):
        scene = base_scene(96, 72, look_at((0.25, -0.35, 0.3), (0, 0, 0)), 35.0)
        scene["objects"] = [
            {
                "rig": "cube",
                "slot": 0,
                "location": [0, 0, 0],
                "rotation": quat_multiply(pose, turn),
                "scale": 1.0,
                "materials": {"*": material()},
            }
        ]
        scenes.append(scene)
    out = render_scenes(tmp_path, params, scenes, keep_passes=False)
    coco = json.loads((out / "annotations.json").read_text())
    assert len(coco["categories"][0]["rig"]["symmetry_permutations"]) == 24
    a, b = (np.array(ann["keypoints"]).reshape(-1, 3) for ann in coco["annotations"])
    np.testing.assert_allclose(a, b, atol=2e-3)  # same points, same order, same visibility
    assert (a[:, 2] == 2).sum() >= 4 and (a[:, 2] == 1).sum() >= 1
    metas = [json.loads((out / "meta" / f"{i:06d}.json").read_text())["objects"][0] for i in range(2)]
    assert metas[0]["symmetry_permutation"] != metas[1]["symmetry_permutation"]  # the raw names differed
    img = [np.asarray(Image.open(out / "images" / f"{i:06d}.png")).astype(int) for i in range(2)]
    assert np.abs(img[0] - img[1]).mean() < 2.0  # and the views look the same
