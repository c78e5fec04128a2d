"""The looks' per-image draw (pure: numpy and the standard library only): a slot's materials entry
(replace ranges, or jitter of a kept material), decal placements, and the decal frames.

Replace ranges draw from the `materials` stream as they always have; jitter, decal placements and
mesh distractors each draw from their own stream (`random_draws.STREAMS`: appearance, decals,
distractor_meshes), and only when params use them, so params without them draw nothing new and
their images keep their bytes. Every jitter and decal range is drawn even when it is a single
value, so the number of draws never depends on the values.
Units: metres, radians (decal rotation), UV units or degrees where the decal's projection says so.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

from blender.random_draws import uniform
from common.render_spec import Decal, JitterMaterial, Material, Range, ReplaceMaterial

AXIS_VECTORS = {
    "+x": (1.0, 0.0, 0.0),
    "-x": (-1.0, 0.0, 0.0),
    "+y": (0.0, 1.0, 0.0),
    "-y": (0.0, -1.0, 0.0),
    "+z": (0.0, 0.0, 1.0),
    "-z": (0.0, 0.0, -1.0),
}


def _draw(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r.min, r.max))


def slot_entry(materials: dict, slot: str):
    """A slot's entry (a spec's Material, or a sample's drawn values): its own name first, then "*"."""
    return materials.get(slot, materials.get("*"))


def srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def hsv_to_linear_rgb(h: float, s: float, v: float) -> list[float]:
    """HSV as a user picks it (display sRGB) to the linear RGB that shaders take."""
    return [srgb_to_linear(c) for c in colorsys.hsv_to_rgb(h % 1.0, s, v)]


def sample_material(rng: np.random.Generator, ranges: ReplaceMaterial) -> dict:
    return {
        "color": hsv_to_linear_rgb(
            uniform(rng, ranges.hue), uniform(rng, ranges.saturation), uniform(rng, ranges.value)
        ),
        "roughness": uniform(rng, ranges.roughness),
        "metallic": uniform(rng, ranges.metallic),
        "texture_strength": uniform(rng, ranges.texture_strength),
        "texture_scale": uniform(rng, ranges.texture_scale),
        "texture_offset": float(rng.uniform(0, 100)),
    }


def sample_look(mrng: np.random.Generator, arng: np.random.Generator, entry: Material) -> dict | None:
    """One image's values for a slot's materials entry: replace ranges draw from `mrng` (the materials
    stream, as always), jitter from `arng` (the appearance stream); keep draws nothing (None)."""
    if entry.mode == "replace":
        return sample_material(mrng, entry)
    return sample_jitter(arng, entry) if entry.mode == "jitter" else None


def sample_jitter(rng: np.random.Generator, cfg: JitterMaterial) -> dict:
    """One image's variation of a kept material (see schema JitterMaterial for the meaning)."""
    out = {
        "mode": "jitter",
        "hue_shift": _draw(rng, cfg.hue_shift),
        "saturation_scale": _draw(rng, cfg.saturation_scale),
        "value_scale": _draw(rng, cfg.value_scale),
        "roughness_offset": _draw(rng, cfg.roughness_offset),
        "metallic_offset": _draw(rng, cfg.metallic_offset),
        "specular_offset": _draw(rng, cfg.specular_offset),
    }
    wear = cfg.wear
    if wear:
        out["wear"] = {
            "dust": _draw(rng, wear.dust),
            "smudges": _draw(rng, wear.smudges),
            "scratches": _draw(rng, wear.scratches),
            "size": _draw(rng, wear.size),
            "offset": [float(v) for v in rng.uniform(0.0, 100.0, size=3)],  # moves the patterns per image
        }
    return out


def sample_decals(rng: np.random.Generator, decals: tuple[Decal, ...]) -> list[dict]:
    """One image's placement of each of a rig instance's decals, in params order.

    `u`, `v`, `width`, `height` are in the decal's own units (see schema Decal); `height` is the drawn
    width times the image's aspect unless a height range is given; `rotation` is in radians.
    """
    out = []
    for d in decals:
        shown = bool(rng.uniform() < d.probability)
        u, v, width = _draw(rng, d.u), _draw(rng, d.v), _draw(rng, d.width)
        height = _draw(rng, d.height) if d.height else width * d.aspect
        rotation = math.radians(_draw(rng, d.rotation_deg))
        out.append({"shown": shown, "u": u, "v": v, "width": width, "height": height, "rotation": rotation})
    return out


def planar_frame(axis: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(right, up, facing) of a planar decal seen from `axis`: right x up = facing, and up is +z
    unless the decal faces along z (then up is +y), so an image reads unmirrored from there."""
    n = np.array(AXIS_VECTORS[axis])
    up = np.array([0.0, 1.0, 0.0]) if axis[1] == "z" else np.array([0.0, 0.0, 1.0])
    return np.cross(up, n), up, n


def cylinder_frame(axis: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, n) of a cylinder decal around `axis`: angles run from a (0 degrees) toward b (90 degrees),
    a x b = n, so seen from outside the image's right is the direction of growing angle and its up is n.
    a is the next axis in x, y, z order (y for x, z for y, x for z)."""
    n = np.array(AXIS_VECTORS[axis])
    a = np.roll(np.abs(n), 1)
    return a, np.cross(n, a), n
