"""Write a scanned-style rig: a sitting plush toy as a photogrammetry scan exports it.

Why a made mesh and not a real scan: no scan with a licence we can ship installs offline here.
This one has what makes scans different from the other rigs: one dense closed shell of small
irregular triangles (10,242 vertices) with scan noise, colour in the vertices and no material,
millimetre units with +y up (as most scan exports), and keypoints picked as vertex indices (what
a user clicks in Blender). Eleven keypoints, four left/right pairs that look alike.

    python examples/scanned/make_toy.py              # -> examples/scanned/build/toy.ply (< 1 s)
    python examples/scanned/make_toy.py --keypoints  # print the picked vertex of each keypoint

numpy only; the same bytes on every run (a fixed noise seed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# The toy in file units (mm): +y up, facing +x, so its right is +z (forward x up) and its left -z.
# name -> (centre, radii) of an ellipsoid; the shell is their union as seen from CENTRE.
BLOBS = {
    "body": ((0.0, 60.0, 0.0), (36.0, 46.0, 38.0)),
    "head": ((10.0, 125.0, 0.0), (30.0, 30.0, 30.0)),
    "snout": ((38.0, 118.0, 0.0), (14.0, 11.0, 12.0)),
    "left_ear": ((0.0, 150.0, -23.0), (7.0, 12.0, 11.0)),
    "right_ear": ((0.0, 150.0, 23.0), (7.0, 12.0, 11.0)),
    "left_arm": ((26.0, 76.0, -33.0), (25.0, 12.0, 12.0)),
    "right_arm": ((26.0, 76.0, 33.0), (25.0, 12.0, 12.0)),
    "left_leg": ((30.0, 17.0, -24.0), (32.0, 16.0, 16.0)),
    "right_leg": ((30.0, 17.0, 24.0), (32.0, 16.0, 16.0)),
    "tail": ((-36.0, 28.0, 0.0), (12.0, 9.0, 9.0)),
}
CENTRE = np.array([5.0, 70.0, 0.0])  # every ray starts here: the shell is star-shaped about it
EYES = {"left_eye": (0.72, 0.32, -0.62), "right_eye": (0.72, 0.32, 0.62)}  # directions from the head's centre

FUR, SNOUT, PAD, INNER_EAR, BLACK = (176, 124, 76), (222, 196, 160), (236, 214, 186), (150, 96, 70), (28, 22, 20)


def icosphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit icosphere: vertices (V, 3) and triangles (F, 3), the same order on every run."""
    t = (1 + 5**0.5) / 2
    verts = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t),
             (0, -1, -t), (0, 1, -t), (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]  # fmt: skip
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
             (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
             (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]  # fmt: skip
    verts = [np.array(v, float) / np.linalg.norm(v) for v in verts]
    for _ in range(subdivisions):
        cache: dict[tuple[int, int], int] = {}
        new = []
        for a, b, c in faces:
            ab, bc, ca = (_midpoint(verts, cache, i, j) for i, j in ((a, b), (b, c), (c, a)))
            new += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new
    return np.array(verts), np.array(faces, dtype=np.int64)


def _midpoint(verts: list[np.ndarray], cache: dict[tuple[int, int], int], a: int, b: int) -> int:
    """The index of the unit vertex halfway between a and b, added on first use (shared by both triangles)."""
    key = (min(a, b), max(a, b))
    if key not in cache:
        m = verts[a] + verts[b]
        verts.append(m / np.linalg.norm(m))
        cache[key] = len(verts) - 1
    return cache[key]


def exit_distances(directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each ray from CENTRE runs before it leaves the union of blobs, and which blob it leaves last."""
    dists = np.full((len(directions), len(BLOBS)), -np.inf)
    for j, (c, r) in enumerate(BLOBS.values()):
        u = directions / np.asarray(r)
        w = (CENTRE - np.asarray(c)) / np.asarray(r)
        uu, uw, ww = (u * u).sum(1), u @ w, w @ w
        disc = uw**2 - uu * (ww - 1)
        ok = disc >= 0
        dists[ok, j] = (-uw[ok] + np.sqrt(disc[ok])) / uu[ok]
    return dists.max(1), dists.argmax(1)


def smooth(verts: np.ndarray, faces: np.ndarray, rounds: int) -> np.ndarray:
    """Laplacian smoothing: rounds the seams where a limb's shell meets the body's."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    for _ in range(rounds):
        total, count = np.zeros_like(verts), np.zeros(len(verts))
        np.add.at(total, edges[:, 0], verts[edges[:, 1]])
        np.add.at(count, edges[:, 0], 1)
        verts = 0.5 * verts + 0.5 * total / count[:, None]
    return verts


def build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The toy: vertices (mm), triangles, and RGB per vertex."""
    dirs, faces = icosphere(5)
    dist, part = exit_distances(dirs)
    verts = smooth(CENTRE + dirs * dist[:, None], faces, rounds=3)
    rng = np.random.default_rng(0)
    verts = verts + rng.normal(0.0, 0.25, verts.shape)  # scan noise, 0.25 mm
    names = list(BLOBS)
    colors = np.tile(np.array(FUR, float), (len(verts), 1))
    colors[part == names.index("snout")] = SNOUT
    for ear in ("left_ear", "right_ear"):  # the inner side of each ear (facing +x) is darker
        inner = (part == names.index(ear)) & (verts[:, 0] > BLOBS[ear][0][0] + 2)
        colors[inner] = INNER_EAR
    for limb in ("left_arm", "right_arm", "left_leg", "right_leg"):  # pads at the front of each paw
        (cx, _, _), (rx, _, _) = BLOBS[limb]
        colors[(part == names.index(limb)) & (verts[:, 0] > cx + 0.6 * rx)] = PAD
    for point in [_landmarks()[k] for k in ("nose", "left_eye", "right_eye")]:
        colors[np.linalg.norm(verts - point, axis=1) < 5.5] = BLACK
    mottle = 10 * np.sin(verts[:, 0] / 9) * np.sin(verts[:, 1] / 11) * np.sin(verts[:, 2] / 7)
    colors = colors + mottle[:, None] + rng.normal(0.0, 4.0, (len(verts), 1))
    return verts, faces, np.clip(np.rint(colors), 0, 255).astype(np.uint8)


def _landmarks() -> dict[str, np.ndarray]:
    """Where each keypoint lies by construction (mm): a blob's extreme point or a point on the head."""

    def tip(name: str, axis: int, sign: float) -> np.ndarray:
        c, r = (np.asarray(v, float) for v in BLOBS[name])
        c[axis] += sign * r[axis]
        return c

    head_c, head_r = np.asarray(BLOBS["head"][0]), BLOBS["head"][1][0]
    marks = {"nose": tip("snout", 0, 1), "crown": tip("head", 1, 1)}
    marks.update({k: head_c + head_r * np.asarray(d) / np.linalg.norm(d) for k, d in EYES.items()})
    for side in ("left", "right"):
        marks[f"{side}_ear"] = tip(f"{side}_ear", 1, 1)
        marks[f"{side}_hand"] = tip(f"{side}_arm", 0, 1)
        marks[f"{side}_foot"] = tip(f"{side}_leg", 0, 1)
    marks["tail"] = tip("tail", 0, -1)
    return marks


KEYPOINTS = ["nose", "crown", "left_eye", "right_eye", "left_ear", "right_ear", "left_hand", "right_hand",
             "left_foot", "right_foot", "tail"]  # fmt: skip


def pick_keypoints(verts: np.ndarray) -> dict[str, int]:
    """The vertex nearest each landmark: what a user picks in Blender and writes as `vertex:`."""
    marks = _landmarks()
    return {k: int(np.argmin(np.linalg.norm(verts - marks[k], axis=1))) for k in KEYPOINTS}


def write_ply(path: Path, verts: np.ndarray, faces: np.ndarray, colors: np.ndarray) -> None:
    head = ["ply", "format ascii 1.0", "comment scanned-style toy written by make_toy.py (units: mm, +y up)",
            f"element vertex {len(verts)}", "property float x", "property float y", "property float z",
            "property uchar red", "property uchar green", "property uchar blue",
            f"element face {len(faces)}", "property list uchar int vertex_indices", "end_header"]  # fmt: skip
    body = [f"{x:.3f} {y:.3f} {z:.3f} {r} {g} {b}" for (x, y, z), (r, g, b) in zip(verts, colors, strict=True)]
    body += [f"3 {a} {b} {c}" for a, b, c in faces]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(head + body) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "build" / "toy.ply")
    ap.add_argument("--keypoints", action="store_true", help="print each keypoint's vertex index and stop")
    args = ap.parse_args(argv)
    verts, faces, colors = build()
    if args.keypoints:
        for name, index in pick_keypoints(verts).items():
            print(f"{name}: vertex {index} at {np.round(verts[index], 1).tolist()} mm")
        return 0
    write_ply(args.out, verts, faces, colors)
    print(f"wrote {args.out}: {len(verts)} vertices, {len(faces)} triangles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
