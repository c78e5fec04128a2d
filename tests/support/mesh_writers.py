"""Small mesh, material and image files written by the tests (plain text and numpy, no Blender).

Every plane here lies in z = 0 of its file, faces counter-clockwise seen from +z (normals up).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from PIL import Image


def write_ply_tiles(path: Path, colors: list[list[tuple[int, int, int]]], tile: float) -> None:
    """A grid of square tiles, row r / column c centred at x = (c - (cols - 1) / 2) * tile and
    y = ((rows - 1) / 2 - r) * tile (row 0 at +y), each with its own 4 vertices of one sRGB colour."""
    rows, cols = len(colors), len(colors[0])
    verts, faces = [], []
    for r in range(rows):
        for c in range(cols):
            cx, cy = (c - (cols - 1) / 2) * tile, ((rows - 1) / 2 - r) * tile
            h = tile / 2
            n = len(verts)
            for dx, dy in ((-h, -h), (h, -h), (h, h), (-h, h)):
                verts.append((cx + dx, cy + dy, 0.0, *colors[r][c]))
            faces.append((n, n + 1, n + 2, n + 3))
    head = [
        "ply",
        "format ascii 1.0",
        f"element vertex {len(verts)}",
        "property float x",
        "property float y",
        "property float z",
        "property uchar red",
        "property uchar green",
        "property uchar blue",
        f"element face {len(faces)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    body = [f"{x:.6f} {y:.6f} {z:.6f} {r} {g} {b}" for x, y, z, r, g, b in verts]
    body += ["4 " + " ".join(map(str, f)) for f in faces]
    path.write_text("\n".join(head + body) + "\n")


def write_png(path: Path, rgba: np.ndarray) -> None:
    """uint8 H x W x 3 or 4, row 0 at the top."""
    Image.fromarray(rgba).save(path)


def checker(size: int, squares: int, dark=(0, 0, 0), light=(255, 255, 255)) -> np.ndarray:
    """size x size RGB checkerboard of squares x squares; the top-left square is dark."""
    cell = size // squares
    i, j = np.mgrid[0:size, 0:size] // cell
    light_here = ((i + j) % 2 == 1)[..., None]
    return np.where(light_here, np.array(light, np.uint8), np.array(dark, np.uint8))


def write_obj_quad(
    path: Path, half: float, uv_corners: list[tuple[float, float]], material: str | None, mtl: str | None = None
) -> None:
    """A square [-half, half]^2 with the given UV at corners (-,-), (+,-), (+,+), (-,+); `mtl` is the
    MTL file's text, written beside it."""
    lines = []
    if mtl is not None:
        lines.append(f"mtllib {path.stem}.mtl")
        path.with_suffix(".mtl").write_text(mtl)
    for x, y in ((-half, -half), (half, -half), (half, half), (-half, half)):
        lines.append(f"v {x:.6f} {y:.6f} 0")
    for u, v in uv_corners:
        lines.append(f"vt {u:.6f} {v:.6f}")
    if material:
        lines.append(f"usemtl {material}")
    lines.append("f 1/1 2/2 3/3 4/4")
    path.write_text("\n".join(lines) + "\n")


def write_obj_tiles(path: Path, tiles: list[tuple[str, float]], tile: float, mtl: str) -> None:
    """A row of square tiles along x (tile k centred at x = (k - (n - 1) / 2) * tile), each with the
    named material; `mtl` is the MTL text."""
    path.with_suffix(".mtl").write_text(mtl)
    lines, faces = [f"mtllib {path.stem}.mtl"], []
    n = len(tiles)
    for k, (material, _) in enumerate(tiles):
        cx, h = (k - (n - 1) / 2) * tile, tile / 2
        for x, y in ((cx - h, -h), (cx + h, -h), (cx + h, h), (cx - h, h)):
            lines.append(f"v {x:.6f} {y:.6f} 0")
        faces.append((material, 4 * k + 1))
    for material, i in faces:
        lines += [f"usemtl {material}", f"f {i} {i + 1} {i + 2} {i + 3}"]
    path.write_text("\n".join(lines) + "\n")


def write_obj_box(path: Path, size: tuple[float, float, float]) -> None:
    """A box centred on the origin, no materials."""
    hx, hy, hz = (s / 2 for s in size)
    lines = [f"v {sx * hx:.6f} {sy * hy:.6f} {sz * hz:.6f}" for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]

    def v(ix, iy, iz):
        return ix * 4 + iy * 2 + iz + 1

    faces = [
        (v(0, 0, 0), v(0, 0, 1), v(0, 1, 1), v(0, 1, 0)),
        (v(1, 0, 0), v(1, 1, 0), v(1, 1, 1), v(1, 0, 1)),
        (v(0, 0, 0), v(1, 0, 0), v(1, 0, 1), v(0, 0, 1)),
        (v(0, 1, 0), v(0, 1, 1), v(1, 1, 1), v(1, 1, 0)),
        (v(0, 0, 0), v(0, 1, 0), v(1, 1, 0), v(1, 0, 0)),
        (v(0, 0, 1), v(1, 0, 1), v(1, 1, 1), v(0, 1, 1)),
    ]
    lines += ["f " + " ".join(map(str, f)) for f in faces]
    path.write_text("\n".join(lines) + "\n")


def write_obj_cylinder(path: Path, radius: float, length: float, segments: int = 96) -> None:
    """A closed cylinder along x from -length/2 to +length/2, no materials."""
    lines = []
    for x in (-length / 2, length / 2):
        for k in range(segments):
            a = 2 * np.pi * k / segments
            lines.append(f"v {x:.6f} {radius * np.cos(a):.6f} {radius * np.sin(a):.6f}")
    for k in range(segments):
        k1 = (k + 1) % segments
        lines.append(f"f {k + 1} {k1 + 1} {segments + k1 + 1} {segments + k + 1}")
    lines.append("f " + " ".join(str(k + 1) for k in reversed(range(segments))))
    lines.append("f " + " ".join(str(segments + k + 1) for k in range(segments)))
    path.write_text("\n".join(lines) + "\n")


def write_gltf_quad(path: Path, half: float, uv_corners: list[tuple[float, float]], image: str) -> None:
    """The quad of `write_obj_quad` as glTF 2.0 (embedded buffer) with a PBR base-colour texture `image`
    (a file name beside it). glTF is y-up (Blender's importer turns glTF (x, y, z) into (x, -z, y)), so
    the quad is written in glTF's y = 0; its UV origin is the image's top-left: v_gltf = 1 - v."""
    pos = np.array([(x, 0.0, -y) for x, y in ((-half, -half), (half, -half), (half, half), (-half, half))], np.float32)
    uv = np.array([(u, 1.0 - v) for u, v in uv_corners], np.float32)
    idx = np.array([0, 1, 2, 0, 2, 3], np.uint16)
    blob = pos.tobytes() + uv.tobytes() + idx.tobytes() + b"\0\0"
    gltf = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "quad"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "indices": 2, "material": 0}]}],
        "materials": [
            {
                "name": "printed",
                "pbrMetallicRoughness": {
                    "baseColorTexture": {"index": 0},
                    "metallicFactor": 0.0,
                    "roughnessFactor": 1.0,
                },
            }
        ],
        "textures": [{"source": 0}],
        "images": [{"uri": image}],
        "buffers": [
            {"byteLength": len(blob), "uri": "data:application/octet-stream;base64," + base64.b64encode(blob).decode()}
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 48},
            {"buffer": 0, "byteOffset": 48, "byteLength": 32},
            {"buffer": 0, "byteOffset": 80, "byteLength": 12},
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": 4,
                "type": "VEC3",
                "min": [-half, 0.0, -half],
                "max": [half, 0.0, half],
            },
            {"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC2"},
            {"bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR"},
        ],
    }
    path.write_text(json.dumps(gltf))


def y_up_copy(src: Path, dest: Path) -> Path:
    """The OBJ with every vertex turned from z-up to y-up by rewriting its text: file (x, y, z) is
    written (x, z, -y), so the file's +y is the original's +z. Faces keep their vertex order."""
    lines = []
    for line in src.read_text().splitlines():
        if line.startswith("v "):
            x, y, z = (float(t) for t in line.split()[1:4])
            line = f"v {x!r} {z!r} {-y!r}"
        lines.append(line)
    dest.write_text("\n".join(lines) + "\n")
    return dest
