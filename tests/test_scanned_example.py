"""examples/scanned: a scanned-style rig (one dense vertex-coloured shell in millimetres, +y up,
keypoints given as vertex indices), checked against the PLY file as numpy reads it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import yaml
from PIL import Image
from pycocotools import mask as mask_utils

from pipeline.coco_files.coco import to_rle
from pipeline.schema import load_params
from tests.support import ROOT, needs_bpy
from tests.support.params import built_example

EXAMPLE = ROOT / "examples" / "scanned"


def read_ply(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, RGB colours and triangles of an ASCII PLY, read without Blender or make_toy.py."""
    lines = path.read_text().splitlines()
    n_vert = next(int(ln.split()[2]) for ln in lines if ln.startswith("element vertex"))
    n_face = next(int(ln.split()[2]) for ln in lines if ln.startswith("element face"))
    start = lines.index("end_header") + 1
    vert = np.array([ln.split() for ln in lines[start : start + n_vert]], float)
    face = np.array([ln.split() for ln in lines[start + n_vert : start + n_vert + n_face]], int)
    assert (face[:, 0] == 3).all()
    return vert[:, :3], vert[:, 3:6].astype(int), face[:, 1:]


class Toy(NamedTuple):
    path: Path  # the PLY make_toy.py wrote
    verts: np.ndarray
    colors: np.ndarray
    faces: np.ndarray
    index: dict[str, int]  # keypoint name -> vertex index, as params.yaml lists them


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Toy:
    out = tmp_path_factory.mktemp("toy") / "toy.ply"
    subprocess.run([sys.executable, str(EXAMPLE / "make_toy.py"), "--out", str(out)], check=True, capture_output=True)
    verts, colors, faces = read_ply(out)
    rig = yaml.safe_load((EXAMPLE / "params.yaml").read_text())["rigs"]["toy"]
    return Toy(out, verts, colors, faces, {k["name"]: k["vertex"] for k in rig["keypoints"]})


def test_make_toy_writes_one_closed_coloured_shell_the_same_bytes_each_run(tmp_path, toy):
    """What makes it scan-like: a single closed surface of many small triangles, coloured per vertex."""
    verts, colors, faces = toy.verts, toy.colors, toy.faces
    again = tmp_path / "again.ply"
    subprocess.run([sys.executable, str(EXAMPLE / "make_toy.py"), "--out", str(again)], check=True)
    assert again.read_bytes() == toy.path.read_bytes()
    assert len(verts) >= 10_000 and len(faces) == 2 * len(verts) - 4  # a closed genus-0 shell (Euler)
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, uses = np.unique(edges, axis=0, return_counts=True)
    assert (uses == 2).all()  # every edge between exactly two triangles: no holes, no loose sheets
    height = verts[:, 1].max() - verts[:, 1].min()
    assert 140 < height < 180  # millimetres, +y up: a toy about 16 cm tall
    assert len(np.unique(colors, axis=0)) > 100 and colors[:, 0].mean() > colors[:, 2].mean() + 40  # brown, mottled


def test_the_params_keypoints_are_the_vertices_at_their_named_places(toy):
    """The vertex indices in params.yaml name what they say: the toy faces +x with +y up, so its
    right is +z (forward x up); each right_ point mirrors its left_ one; the ears are the highest
    points of their side, the tail the hindmost point, the nose the foremost point of the head."""
    verts, index = toy.verts, toy.index
    assert len(index) >= 10
    p = {name: verts[i] for name, i in index.items()}
    right = np.cross([1.0, 0, 0], [0, 1.0, 0])
    for part in ("eye", "ear", "hand", "foot"):
        r, left = p[f"right_{part}"], p[f"left_{part}"]
        assert r @ right > 10 and left @ right < -10, part
        assert np.abs(r * [1, 1, -1] - left).max() < 3, part  # mirror images within 3 mm (scan noise)
    for side in (1, -1):
        ear = p["right_ear" if side > 0 else "left_ear"]
        assert ear[1] > verts[verts[:, 2] * side > 5][:, 1].max() - 2
    assert p["tail"][0] < verts[:, 0].min() + 2
    head = verts[verts[:, 1] > 100]
    assert p["nose"][0] > head[:, 0].max() - 2 and abs(p["nose"][2]) < 3
    assert p["crown"][1] > verts[np.abs(verts[:, 2]) < 5][:, 1].max() - 2
    for part in ("hand", "foot"):  # the front of each paw: the foremost point at its height
        paw = p[f"right_{part}"]
        near = verts[(np.abs(verts[:, 1] - paw[1]) < 8) & (verts[:, 2] > 0)]
        assert paw[0] > near[:, 0].max() - 3, part


def test_the_example_and_its_experiment_describe_the_same_rig():
    example = yaml.safe_load((EXAMPLE / "params.yaml").read_text())["rigs"]
    experiment = yaml.safe_load((EXAMPLE / "params_experiment.yaml").read_text())["rigs"]
    assert example == experiment


@pytest.mark.slow
@needs_bpy
def test_the_toy_renders_with_its_keypoints_at_the_turned_vertices_and_its_own_colours(tmp_path, toy):
    """Rendered, each keypoint sits at its vertex of the file, scaled from mm to metres and turned
    from +y up to +z up (x, y, z -> x, -z, y) by hand here; the object's pixels are the vertex
    colours' brown, not the grey of a mesh without a look."""
    verts, index = toy.verts, toy.index
    from pipeline.rendering.render_dataset import render_dataset

    pfile = built_example(EXAMPLE / "params.yaml", tmp_path)
    params = load_params(
        pfile, {"render.num_images": 2, "render.resolutions": [[96, 96]], "render.samples": 4, "render.denoise": False}
    )
    data = render_dataset(params, pfile, tmp_path / "out", workers=1, progress=False)
    names = data["categories"][0]["keypoints"]
    expected = np.array([[x, -z, y] for x, y, z in verts[[index[n] for n in names]]]) * 0.001
    seen = 0
    for image in data["images"]:
        meta = json.loads((tmp_path / "out" / image["meta_file"]).read_text())
        for o in meta["objects"]:
            m = np.array(o["object_to_world"])
            scale = np.linalg.norm(m[:3, 0])
            local = (np.array(o["keypoints_world"]) - m[:3, 3]) @ m[:3, :3] / scale**2
            assert local == pytest.approx(expected, abs=1e-5)
            seen += 1
    assert seen >= 2
    rgb = []
    for a in data["annotations"]:
        image = next(i for i in data["images"] if i["id"] == a["image_id"])
        pixels = np.asarray(Image.open(tmp_path / "out" / image["file_name"]).convert("RGB"), float)
        rgb.append(pixels[mask_utils.decode(to_rle(a["segmentation"], *pixels.shape[:2])) > 0])
    r, g, b = np.concatenate(rgb).mean(0)
    assert r > b + 15 and g > b  # brown: the file's colours, kept (jittered in hue by at most 0.05)
