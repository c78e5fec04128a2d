"""The random primitives every scene element draws with (pure numpy): one generator per (seed, image,
stream), ranges, rotations and places kept apart (a look's colours and materials are drawn in
blender/surfaces/appearance.py, the looks' draw).

A stream is named in STREAMS; its number is part of every render's bytes, so a new element gets a
new number and no existing one changes. Units: metres, radians, linear RGB in 0..1.
"""

from __future__ import annotations

import math

import numpy as np

from common.render_spec import Range

STREAMS = {
    "camera": 0,
    "objects": 1,
    "distractors": 2,
    "lights": 3,
    "world": 4,
    "background": 5,
    "materials": 6,
    "appearance": 7,
    "decals": 8,
    "distractor_meshes": 9,
    "physics": 10,
    "views": 11,
    "pose_bones": 12,
    "shape_keys": 13,
}


def rng_for(seed: int, index: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([seed, index, STREAMS[stream]])


def uniform(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r.min, r.max)) if r.max > r.min else float(r.min)


def integer(rng: np.random.Generator, r: Range) -> int:
    return int(rng.integers(int(r.min), int(r.max) + 1))


def random_rotation(rng: np.random.Generator) -> list[float]:
    """Uniform rotation on SO(3) as a unit quaternion (w, x, y, z)."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    return [float(x) for x in (q if q[0] >= 0 else -q)]


def quat_multiply(a, b) -> list[float]:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return [
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ]


def axis_angle(axis, angle: float) -> list[float]:
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.linalg.norm(axis)
    s = math.sin(angle / 2)
    return [math.cos(angle / 2), *(float(a * s) for a in axis)]


def upright_rotation(rng: np.random.Generator, tilt_rad: float) -> list[float]:
    """Random yaw about world z, then a tilt of at most `tilt_rad` about a random horizontal axis."""
    yaw = axis_angle((0, 0, 1), rng.uniform(0, 2 * math.pi))
    a = rng.uniform(0, 2 * math.pi)
    tilt = axis_angle((math.cos(a), math.sin(a), 0.0), rng.uniform(-tilt_rad, tilt_rad))
    return quat_multiply(tilt, yaw)


def apart(draw, placed: list[tuple[np.ndarray, float]], radius: float, tries: int = 20) -> np.ndarray:
    """The first of up to `tries` points `draw()` gives whose sphere of `radius` keeps clear of every
    placed (point, radius); else the one that comes closest to it."""
    best, best_gap = None, -math.inf
    for _ in range(tries):
        p = draw()
        gap = min((np.linalg.norm(p - q) - radius - rq for q, rq in placed), default=math.inf)
        if gap >= 0:
            return p
        if gap > best_gap:
            best, best_gap = p, gap
    return best


def place(rng, placed: list[tuple[np.ndarray, float]], radius: float, spread: float, height: Range):
    """A position in the placement disc that keeps bounding spheres apart when it can."""

    def draw() -> np.ndarray:
        r, t = spread * math.sqrt(rng.uniform()), rng.uniform(0, 2 * math.pi)
        return np.array([r * math.cos(t), r * math.sin(t), uniform(rng, height)])

    return apart(draw, placed, radius)
