"""Per-image articulation of a rig: bone rotations, action blends, shape keys (pure).

Drawn from the `pose_bones` and `shape_keys` random streams of (seed, image index) only, so an
instance's pose does not depend on sharding, and a rig without `pose_bones`, `pose_actions` or
`shape_keys` draws nothing. Output is plain data that `posed.py` applies in Blender:

    {"actions": [a, b], "blend": t,          # pose_actions: the pose is (1 - t) * a + t * b
     "bones": {bone: [x, y, z]},             # pose_bones: Euler radians, in the rig's `order`
     "shape_keys": {key: value}}
"""

from __future__ import annotations

import math

import numpy as np

from common.render_spec import Range, Rig

AXES = ("x", "y", "z")


def _uniform(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r.min, r.max)) if r.max > r.min else float(r.min)


def sample_articulation(bones_rng: np.random.Generator, keys_rng: np.random.Generator, rig: Rig) -> dict:
    """One instance's articulation (see the module docstring); draws in params order."""
    out: dict = {}
    actions = rig.pose_actions
    if actions:
        names = actions.names
        first = names[int(bones_rng.integers(len(names)))]
        if actions.blend and len(names) > 1:
            second = names[int(bones_rng.integers(len(names)))]
            out["actions"], out["blend"] = [first, second], float(bones_rng.uniform())
        else:
            out["actions"], out["blend"] = [first], 0.0
    if rig.pose_bones:
        out["bones"] = {
            bone: [math.radians(_uniform(bones_rng, getattr(r, a))) if getattr(r, a) else 0.0 for a in AXES]
            for bone, r in rig.pose_bones.items()
        }
    if rig.shape_keys:
        out["shape_keys"] = {key: _uniform(keys_rng, r) for key, r in rig.shape_keys.items()}
    return out
