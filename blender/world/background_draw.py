"""The background's per-image draw (pure): the HDRI seen behind the rigs, a procedural pattern or a
photo, and the pattern's look, from the `background` stream; blender/world/backgrounds.py makes the
pixels."""

from __future__ import annotations

import numpy as np

from blender.random_draws import uniform

PATTERNS = ("noise", "gradient", "checker", "stripes", "blobs", "wood", "granite")


def draw(ctx) -> dict:
    rng = ctx.rng("background")
    bg, photos = ctx.spec.render.background, ctx.spec.photos
    kinds = ["hdri", "procedural", "photos"]
    weights = np.array([bg.hdri, bg.procedural, bg.photos if photos else 0.0])
    kind = kinds[rng.choice(3, p=weights / weights.sum())]
    background = {"kind": kind, "seed": int(rng.integers(0, 2**31 - 1))}
    if kind == "procedural":
        background["pattern"] = bg.patterns[rng.integers(len(bg.patterns))]
        sat = bg.saturation
        if sat.min != 1.0 or sat.max != 1.0:  # drawn only when set: default renders keep their bytes
            background["saturation"] = uniform(rng, sat)
        if bg.brightness is not None:  # drawn only when set, after the other draws: bytes kept
            background["brightness"] = uniform(rng, bg.brightness)
    elif kind == "photos":
        background["photo"] = int(rng.integers(len(photos)))
    return {"background": background}
