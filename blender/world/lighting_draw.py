"""The lighting's per-image draw (pure): lamps (type, place, power, colour, size) from the `lights`
stream and the HDRI world (which one, how strong, turned how) from the `world` stream.
blender/world/lighting.py sets them in Blender."""

from __future__ import annotations

import colorsys
import math

from blender.optics.camera import look_at, spherical_position
from blender.random_draws import integer, uniform

# Blender ships these HDRIs in datafiles/studiolights/world/ since 2.80 (3.4 to 5.x alike).
HDRI_NAMES = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")


def draw_lights(ctx) -> dict:
    rng = ctx.rng("lights")
    lights_cfg = ctx.spec.render.lights
    lights = []
    for _ in range(integer(rng, lights_cfg.count)):
        kind = lights_cfg.types[rng.integers(len(lights_cfg.types))]
        loc = spherical_position(
            (0, 0, 0),
            uniform(rng, lights_cfg.distance),
            math.radians(rng.uniform(20, 85)),
            rng.uniform(0, 2 * math.pi),
        )
        lights.append(
            {
                "type": kind,
                "camera_like_matrix": look_at(loc, (0, 0, 0)).tolist(),  # lights shine along local -z
                "energy": uniform(rng, lights_cfg.sun_strength if kind == "SUN" else lights_cfg.energy_w),
                "color": [
                    float(c) for c in colorsys.hsv_to_rgb(rng.uniform(), uniform(rng, lights_cfg.saturation), 1.0)
                ],
                "size": float(rng.uniform(0.05, 0.3)),
                "spot_size": float(rng.uniform(math.radians(30), math.radians(90))),
            }
        )
    return {"lights": lights}


def draw_world(ctx) -> dict:
    rng = ctx.rng("world")
    return {
        "world": {
            "hdri": HDRI_NAMES[rng.integers(len(HDRI_NAMES))],
            "strength": uniform(rng, ctx.spec.render.lights.world_strength),
            "rotation": float(rng.uniform(0, 2 * math.pi)),
        }
    }
