"""Write the textured example's meshes, textures and decal (numpy and Pillow only; no downloads).

    python examples/textured/make_assets.py [--out examples/textured]

- can.obj + can.mtl + can_label.png: a food can, metres, z up, bottom at z = 0. Material `label`
  (the side, UV-mapped: u once around, +x at u = 0.5; v bottom to top) prints a red logo disc
  centred at +x half way up, which is what the `logo` keypoint names; material `lid` (both ends)
  is brushed metal.
- sticker.png: a price sticker with transparent rounded corners, for a cylinder decal.
- clutter/: desk clutter for `render.distractors.meshes`, one file per format the importers read
  with colour: eraser.ply (PLY vertex colours), pencil.obj (OBJ vertex colours), cap.obj (MTL colours),
  notebook.obj (MTL image texture), ball.gltf (glTF vertex colours and PBR factors).

Everything is drawn here, so it ships under the project's licence (MIT); the script writes the same
bytes every time.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

RADIUS, HEIGHT, AROUND = 0.033, 0.11, 64


def label_texture(width: int = 512, height: int = 256) -> np.ndarray:
    """The can's label: cream with two green bands, fake text lines and a red logo disc at u = 0.5."""
    img = Image.new("RGB", (width, height), (236, 228, 205))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 18, width, 40], fill=(30, 110, 60))
    d.rectangle([0, height - 40, width, height - 18], fill=(30, 110, 60))
    cx, cy, r = width // 2, height // 2, 46
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(200, 25, 30))
    d.ellipse([cx - r + 10, cy - r + 10, cx + r - 10, cy + r - 10], outline=(250, 245, 235), width=6)
    d.rectangle([cx - 16, cy - 4, cx + 16, cy + 4], fill=(250, 245, 235))
    rng = np.random.default_rng(7)
    for x0 in (40, 330):  # two blocks of "text" lines away from the logo
        for row in range(6):
            y = 70 + row * 20
            length = int(rng.integers(60, 130))
            d.rectangle([x0, y, x0 + length, y + 7], fill=(60, 55, 50))
    return np.asarray(img)


def sticker(width: int = 120, height: int = 60) -> np.ndarray:
    """A yellow price sticker: rounded corners (transparent), a dark price and a barcode."""
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([0, 0, width - 1, height - 1], radius=12, fill=(250, 214, 40, 255))
    d.rectangle([10, 12, 60, 30], fill=(30, 30, 30, 255))
    for k in range(14):
        x = 70 + 3 * k
        d.rectangle([x, 10, x + (1 if k % 3 else 2), 48], fill=(30, 30, 30, 255))
    return np.asarray(img)


def notebook_texture(size: int = 128) -> np.ndarray:
    img = Image.new("RGB", (size, size), (40, 70, 150))
    d = ImageDraw.Draw(img)
    d.rectangle([12, 12, size - 12, 40], fill=(235, 235, 235))
    for y in range(52, size - 8, 10):
        d.line([12, y, size - 12, y], fill=(90, 120, 190), width=2)
    return np.asarray(img)


def write_can(out: Path) -> None:
    """Side quads (material label, UVs around) and two fan caps (material lid)."""
    lines = ["# rig2kp example: a food can, metres, z up; written by make_assets.py", "mtllib can.mtl"]
    for z in (0.0, HEIGHT):
        for k in range(AROUND + 1):  # the seam at -x repeats its vertex with u = 0 and u = 1
            a = math.pi + 2 * math.pi * k / AROUND
            lines.append(f"v {RADIUS * math.cos(a):.6f} {RADIUS * math.sin(a):.6f} {z:.6f}")
            lines.append(f"vt {k / AROUND:.6f} {z / HEIGHT:.6f}")
    n = AROUND + 1
    lines += [f"v 0 0 {z:.6f}" for z in (0.0, HEIGHT)]  # cap centres: vertices 2n+1, 2n+2
    lines.append("usemtl label")
    for k in range(AROUND):
        a, b, c, e = k + 1, k + 2, n + k + 2, n + k + 1
        lines.append(f"f {a}/{a} {b}/{b} {c}/{c} {e}/{e}")
    lines.append("usemtl lid")
    for k in range(AROUND):
        lines.append(f"f {2 * n + 1} {k + 2} {k + 1}")  # bottom, facing -z
        lines.append(f"f {2 * n + 2} {n + k + 1} {n + k + 2}")  # top, facing +z
    (out / "can.obj").write_text("\n".join(lines) + "\n")
    (out / "can.mtl").write_text(
        "# written by make_assets.py\n"
        "newmtl label\nKd 1 1 1\nKs 0.3 0.3 0.3\nNs 250\nmap_Kd can_label.png\n\n"
        "newmtl lid\nKd 0.75 0.75 0.78\nKs 0.9 0.9 0.9\nNs 500\nPm 1.0\nPr 0.3\n"
    )
    Image.fromarray(label_texture()).save(out / "can_label.png")


def box(size, colors=None):
    """Vertices and quads of a box centred on the origin; per-face colours duplicate the vertices."""
    hx, hy, hz = (s / 2 for s in size)
    quads = [
        ((-1, -1, -1), (-1, -1, 1), (-1, 1, 1), (-1, 1, -1)),
        ((1, -1, -1), (1, 1, -1), (1, 1, 1), (1, -1, 1)),
        ((-1, -1, -1), (1, -1, -1), (1, -1, 1), (-1, -1, 1)),
        ((-1, 1, -1), (-1, 1, 1), (1, 1, 1), (1, 1, -1)),
        ((-1, -1, -1), (-1, 1, -1), (1, 1, -1), (1, -1, -1)),
        ((-1, -1, 1), (1, -1, 1), (1, 1, 1), (-1, 1, 1)),
    ]
    verts, faces = [], []
    for f, quad in enumerate(quads):
        faces.append(tuple(range(len(verts), len(verts) + 4)))
        for sx, sy, sz in quad:
            verts.append((sx * hx, sy * hy, sz * hz, *(colors[f] if colors else ())))
    return verts, faces


def write_eraser(out: Path) -> None:
    """A two-colour eraser: blue sleeve on four faces, white rubber on the ends (PLY vertex colours)."""
    blue, white = (40, 90, 200), (245, 245, 240)
    verts, faces = box((0.06, 0.022, 0.012), [white, white, blue, blue, blue, blue])
    head = [
        "ply",
        "format ascii 1.0",
        "comment written by make_assets.py",
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
    body = [f"{x:.5f} {y:.5f} {z:.5f} {r} {g} {b}" for x, y, z, r, g, b in verts]
    body += ["4 " + " ".join(map(str, f)) for f in faces]
    (out / "eraser.ply").write_text("\n".join(head + body) + "\n")


def write_pencil(out: Path) -> None:
    """A hexagonal pencil along x: yellow body, pale wood cone and a dark tip (OBJ vertex colours)."""
    r, body, cone = 0.0038, 0.15, 0.018
    lines = ["# written by make_assets.py: vertex colours after the position (sRGB 0..1)"]
    rings = [
        (-body / 2, r, (0.95, 0.78, 0.1)),
        (body / 2, r, (0.95, 0.78, 0.1)),
        (body / 2, r, (0.87, 0.72, 0.5)),
        (body / 2 + cone * 0.8, r * 0.25, (0.87, 0.72, 0.5)),
        (body / 2 + cone * 0.8, r * 0.25, (0.15, 0.15, 0.15)),
    ]
    for x, rad, c in rings:
        for k in range(6):
            a = 2 * math.pi * k / 6
            lines.append(f"v {x:.5f} {rad * math.cos(a):.5f} {rad * math.sin(a):.5f} {c[0]} {c[1]} {c[2]}")
    tip = len(rings) * 6 + 1
    lines.append(f"v {body / 2 + cone:.5f} 0 0 0.15 0.15 0.15")
    back = tip + 1
    lines.append(f"v {-body / 2:.5f} 0 0 0.95 0.78 0.1")
    for ring in (0, 2):
        o = ring * 6
        for k in range(6):
            k1 = (k + 1) % 6
            lines.append(f"f {o + k + 1} {o + k1 + 1} {o + 6 + k1 + 1} {o + 6 + k + 1}")
    for k in range(6):
        k1 = (k + 1) % 6
        lines.append(f"f {24 + k + 1} {24 + k1 + 1} {tip}")
        lines.append(f"f {k1 + 1} {k + 1} {back}")
    (out / "pencil.obj").write_text("\n".join(lines) + "\n")


def write_cap(out: Path) -> None:
    """A red bottle cap (a short closed cylinder) with one MTL colour."""
    r, h, n = 0.015, 0.012, 32
    lines = ["# written by make_assets.py", "mtllib cap.mtl", "usemtl cap_red"]
    for z in (0.0, h):
        for k in range(n):
            a = 2 * math.pi * k / n
            lines.append(f"v {r * math.cos(a):.5f} {r * math.sin(a):.5f} {z:.5f}")
    for k in range(n):
        k1 = (k + 1) % n
        lines.append(f"f {k + 1} {k1 + 1} {n + k1 + 1} {n + k + 1}")
    lines.append("f " + " ".join(str(k + 1) for k in reversed(range(n))))
    lines.append("f " + " ".join(str(n + k + 1) for k in range(n)))
    (out / "cap.obj").write_text("\n".join(lines) + "\n")
    (out / "cap.mtl").write_text(
        "# written by make_assets.py\nnewmtl cap_red\nKd 0.7 0.05 0.05\nKs 0.4 0.4 0.4\nNs 300\n"
    )


def write_notebook(out: Path) -> None:
    """A small notebook: a flat box whose top shows an image texture (MTL map_Kd), the rest plain."""
    verts, faces = box((0.1, 0.14, 0.012))
    uv = [(0, 0), (1, 0), (1, 1), (0, 1)]
    lines = ["# written by make_assets.py", "mtllib notebook.mtl"]
    lines += [f"v {x:.5f} {y:.5f} {z:.5f}" for x, y, z in verts]
    lines += [f"vt {u} {v}" for u, v in uv]
    lines.append("usemtl edges")
    lines += ["f " + " ".join(str(i + 1) for i in f) for f in faces[:5]]
    lines.append("usemtl cover")
    lines.append("f " + " ".join(f"{i + 1}/{k + 1}" for k, i in enumerate(faces[5])))
    (out / "notebook.obj").write_text("\n".join(lines) + "\n")
    (out / "notebook.mtl").write_text(
        "# written by make_assets.py\nnewmtl edges\nKd 0.85 0.85 0.8\n\nnewmtl cover\nKd 1 1 1\nmap_Kd notebook.png\n"
    )
    Image.fromarray(notebook_texture()).save(out / "notebook.png")


def write_ball(out: Path) -> None:
    """A beach-ball-like sphere in glTF 2.0: six coloured segments as COLOR_0, a glossy PBR material."""
    rings, segments, r = 10, 24, 0.03
    palette = np.array([(0.9, 0.1, 0.1), (1, 1, 1), (0.1, 0.3, 0.9), (1, 1, 1), (0.95, 0.8, 0.1), (1, 1, 1)])
    pos, col, idx = [], [], []
    for i in range(rings):  # one flat-coloured quad per cell (vertices repeated so colours stay sharp)
        for j in range(segments):
            corners = []
            for di, dj in ((0, 0), (0, 1), (1, 1), (1, 0)):
                th, ph = math.pi * (i + di) / rings, 2 * math.pi * (j + dj) / segments
                corners.append((r * math.sin(th) * math.cos(ph), r * math.cos(th), r * math.sin(th) * math.sin(ph)))
            base = len(pos)
            pos += corners
            col += [(*palette[j * 6 // segments], 1.0)] * 4
            idx += [base, base + 2, base + 1, base, base + 3, base + 2]
    pos_b = np.array(pos, np.float32).tobytes()
    nor_b = (np.array(pos) / r).astype(np.float32).tobytes()  # a sphere's normals: smooth shading
    col_b = np.array(col, np.float32).tobytes()
    idx_b = np.array(idx, np.uint32).tobytes()
    blob = pos_b + nor_b + col_b + idx_b
    p = np.array(pos)
    gltf = {
        "asset": {"version": "2.0", "generator": "rig2kp examples/textured/make_assets.py"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "ball"}],
        "meshes": [
            {"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1, "COLOR_0": 2}, "indices": 3, "material": 0}]}
        ],
        "materials": [{"name": "vinyl", "pbrMetallicRoughness": {"metallicFactor": 0.0, "roughnessFactor": 0.35}}],
        "buffers": [
            {"byteLength": len(blob), "uri": "data:application/octet-stream;base64," + base64.b64encode(blob).decode()}
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(pos_b)},
            {"buffer": 0, "byteOffset": len(pos_b), "byteLength": len(nor_b)},
            {"buffer": 0, "byteOffset": 2 * len(pos_b), "byteLength": len(col_b)},
            {"buffer": 0, "byteOffset": 2 * len(pos_b) + len(col_b), "byteLength": len(idx_b)},
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": len(pos),
                "type": "VEC3",
                "min": p.min(axis=0).tolist(),
                "max": p.max(axis=0).tolist(),
            },
            {"bufferView": 1, "componentType": 5126, "count": len(pos), "type": "VEC3"},
            {"bufferView": 2, "componentType": 5126, "count": len(col), "type": "VEC4"},
            {"bufferView": 3, "componentType": 5125, "count": len(idx), "type": "SCALAR"},
        ],
    }
    (out / "ball.gltf").write_text(json.dumps(gltf) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args(argv)
    clutter = args.out / "clutter"
    clutter.mkdir(parents=True, exist_ok=True)
    write_can(args.out)
    Image.fromarray(sticker()).save(args.out / "sticker.png")
    for write in (write_eraser, write_pencil, write_cap, write_notebook, write_ball):
        write(clutter)
    print(f"wrote {args.out}/can.obj, can.mtl, can_label.png, sticker.png and {clutter}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
