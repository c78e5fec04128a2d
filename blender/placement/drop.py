"""Start poses for physics placement (pure): where each object is released above the support.

Drawn from (seed, image index, "physics" stream[, retry]) alone, so a drop never depends on the
sharding. Objects are released with their bounding spheres apart (no interpenetration at the
start), alone or stacked in piles; the rigid-body simulation (physics.py) then lets them settle.
The support's top is the plane z = 0. Units: metres.
"""

from __future__ import annotations

import math

import numpy as np

from blender.random_draws import STREAMS, apart, random_rotation, uniform, upright_rotation
from blender.surfaces.appearance import sample_material
from common.render_spec import Range, RenderSpec, Support

# Bounding radius of each unit-size distractor mesh (scene_parts.distractor_meshes), about its origin.
# Distractors collide as convex hulls: a torus then rests as it would, and nothing falls into its
# hole (Bullet's concave mesh collisions cost ten times more).
DISTRACTOR_RADIUS = {
    "cube": math.sqrt(3) / 2,
    "sphere": 0.5,
    "cylinder": math.sqrt(0.5),
    "cone": math.sqrt(0.5),
    "torus": 0.5,
}
DISTRACTOR_FRICTION, DISTRACTOR_RESTITUTION = 0.6, 0.1
GAP = 0.002  # metres between bounding spheres stacked in a pile


def rng_for_drop(seed: int, index: int, attempt: int) -> np.random.Generator:
    """Attempt 0 is the stream's own generator; a retry after a drop that did not settle gets its own."""
    key = [seed, index, STREAMS["physics"]] + ([attempt] if attempt else [])
    return np.random.default_rng(key)


def _groups(rng: np.random.Generator, n: int, piles: bool | Range) -> list[list[int]]:
    """Body indices in piles: each alone (False), all in one (True), or runs of [min, max] bodies."""
    if piles is False or n == 0:
        return [[i] for i in range(n)]
    if piles is True:
        return [list(range(n))]
    out, i = [], 0
    while i < n:
        size = int(rng.integers(int(piles.min), int(piles.max) + 1))
        out.append(list(range(i, min(n, i + max(size, 1)))))
        i += max(size, 1)
    return out


def _centre(rng, support: Support, spread: float, radius: float, placed: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """A pile's xy: in the spread disc (plane) or the tray's inside, apart from earlier piles when it can."""

    def draw() -> np.ndarray:
        if support.kind == "tray":
            hx, hy = (max(0.0, s / 2 - radius) for s in support.size)
            return np.array([rng.uniform(-hx, hx), rng.uniform(-hy, hy)])
        r, t = spread * math.sqrt(rng.uniform()), rng.uniform(0, 2 * math.pi)
        return np.array([r * math.cos(t), r * math.sin(t)])

    return apart(draw, placed, radius)


def _clamp_to_support(xy: np.ndarray, support: Support, radius: float) -> np.ndarray:
    half = np.array([max(0.0, s / 2 - radius) for s in support.size])
    return np.clip(xy, -half, half)


def start_poses(spec: RenderSpec, index: int, attempt: int, scene: dict, rig_radii: dict[str, float]) -> dict:
    """`scene` (as sampling.sample_scene returns it) with release poses for every object and
    distractor (all drawn here: a falling distractor cannot hover toward the camera), and a `drop`
    entry that the renderer simulates. Rigs keep their pose mode: `upright` ones start upright."""
    placement = spec.render.placement
    cfg, support = placement.drop, placement.drop.support
    rng = rng_for_drop(spec.seed, index, attempt)
    out = dict(scene, objects=[dict(o) for o in scene["objects"]], distractors=[dict(d) for d in scene["distractors"]])

    bodies = []  # (entry, bounding radius, collision, friction, restitution, tilt: None = any rotation)
    for o in out["objects"]:
        rig = spec.rigs[o["rig"]]
        phys, pose = rig.physics, rig.pose
        tilt = math.radians(pose.tilt_deg) if pose.mode == "upright" else None
        bodies.append((o, rig_radii[o["rig"]] * o["scale"], phys.collision, phys.friction, phys.restitution, tilt))
    for d in out["distractors"]:
        bodies.append(
            (
                d,
                DISTRACTOR_RADIUS[d["shape"]] * d["size"],
                "convex_hull",
                DISTRACTOR_FRICTION,
                DISTRACTOR_RESTITUTION,
                None,
            )
        )

    centres: list[tuple[np.ndarray, float]] = []
    released: list[tuple[np.ndarray, float]] = []  # 3D bounding spheres already placed
    for group in _groups(rng, len(bodies), cfg.piles):
        spread = 1 + cfg.pile_spread if len(group) > 1 else 1.0
        radius = max(bodies[i][1] for i in group) * spread
        centre = _centre(rng, support, placement.spread, radius, centres)
        centres.append((centre, radius))
        for i in group:
            entry, r, _, _, _, tilt = bodies[i]
            xy = centre
            if len(group) > 1:
                a = rng.uniform(0, 2 * math.pi)
                xy = centre + cfg.pile_spread * r * math.sqrt(rng.uniform()) * np.array([math.cos(a), math.sin(a)])
            xy = _clamp_to_support(xy, support, r)
            z = r + uniform(rng, cfg.height)
            for q, rq in released:  # raised above anything whose bounding sphere it would touch
                dxy = float(np.linalg.norm(q[:2] - xy))
                if dxy < r + rq + GAP:
                    z = max(z, q[2] + math.sqrt((r + rq + GAP) ** 2 - dxy**2))
            entry["location"] = [float(xy[0]), float(xy[1]), float(z)]
            entry["rotation"] = random_rotation(rng) if tilt is None else upright_rotation(rng, tilt)
            released.append((np.array(entry["location"]), r))

    out["drop"] = {
        "attempt": attempt,
        "support": {
            "kind": support.kind,
            "size": list(support.size),
            "wall_height": support.wall_height,
            "wall_thickness": support.wall_thickness,
        },
        "bodies": [{"collision": c, "friction": f, "restitution": e} for _, _, c, f, e, _ in bodies],
        "settle": {
            "max_steps": cfg.max_steps,
            "substeps": cfg.substeps,
            "solver_iterations": cfg.solver_iterations,
            "settle_speed": cfg.settle_speed,
            "linear_damping": cfg.linear_damping,
            "angular_damping": cfg.angular_damping,
            "collision_margin": cfg.collision_margin,
        },
    }
    if support.kind == "tray":
        out["drop"]["support"]["material"] = sample_material(rng, support.material)
    return out
